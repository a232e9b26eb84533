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

use crate::render::page::{Color, PT_PER_MM};
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
    /// The text; `'\n'` is an explicit line break. Empty for a [`Field`].
    pub text: String,
    /// Its style.
    pub style: Style,
    /// Ruby (furigana) set centred over the whole of `text`, which is then
    /// never broken across lines.
    pub ruby: Option<String>,
    /// A placeholder filled in at layout time instead of `text`.
    pub field: Option<Field>,
}

/// Inline placeholders whose value is only known after layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `<pageno/>`: the number of the page the text lands on (1-based, counted
    /// over the whole laid-out document, continuation pages included).
    PageNo,
    /// `<pagecount/>`: the number of pages of the laid-out document.
    PageCount,
}

/// Page margins in points. They bound the *safe area*: `%` positions and
/// sizes refer to it, and layout rejects anything drawn outside it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Margins {
    /// Top.
    pub top: f32,
    /// Right.
    pub right: f32,
    /// Bottom.
    pub bottom: f32,
    /// Left.
    pub left: f32,
}

impl Margins {
    /// Whether all four margins are zero (no safe-area check).
    pub fn is_zero(&self) -> bool {
        self.top == 0.0 && self.right == 0.0 && self.bottom == 0.0 && self.left == 0.0
    }
}

/// One page of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPage {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// Margins (the safe area).
    pub margins: Margins,
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
    /// A QR code.
    Qr(QrEl),
    /// A Japan Post customer barcode (`<barcode kind="jp-customer">`).
    Barcode(BarcodeEl),
}

/// What a `<barcode>` does when the record's address cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBarcodeError {
    /// Reject the record (`E_BARCODE`); the default.
    Reject,
    /// Leave the barcode out and record a warning for the record.
    Warn,
    /// Leave the barcode out silently.
    Omit,
}

/// The address a `<barcode>` encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarcodeAddress {
    /// `address=`: the full address, checked against the postal code and
    /// split into 住所A/住所B with the postal data.
    Full(String),
    /// `address-b=`: only 住所B (the part after the town name), not checked.
    B(String),
}

/// `<barcode kind="jp-customer">`: the Japan Post customer barcode
/// (カスタマバーコード), drawn as filled bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarcodeEl {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Left edge of the first bar (the quiet zone lies outside it).
    pub x: f32,
    /// Top edge of the long bars.
    pub y: f32,
    /// Point size of the symbol (8–11.5; 10 is the standard size).
    pub point_size: f32,
    /// The postal code as written in the record.
    pub postal: String,
    /// The address to encode.
    pub address: BarcodeAddress,
    /// What to do when no barcode can be made.
    pub on_error: OnBarcodeError,
}

/// QR error correction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrLevel {
    /// ~7 % recovery.
    L,
    /// ~15 % recovery (default).
    M,
    /// ~25 % recovery.
    Q,
    /// ~30 % recovery.
    H,
}

/// `<qr>`: a QR code drawn as filled squares.
#[derive(Debug, Clone, PartialEq)]
pub struct QrEl {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Left edge (of the quiet zone).
    pub x: f32,
    /// Top edge (of the quiet zone).
    pub y: f32,
    /// Side of the whole symbol including its quiet zone.
    pub size: f32,
    /// Error correction level.
    pub level: QrLevel,
    /// Quiet zone in modules (default 4).
    pub quiet: u32,
    /// Module colour.
    pub color: Color,
    /// The encoded text (UTF-8 bytes).
    pub text: String,
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
    /// Vertical placement of the line in the box (`None`: top without a
    /// height, middle with one).
    pub valign: Option<VAlign>,
    /// Explicit baseline, measured down from `y` (overrides `valign`).
    pub baseline: Option<f32>,
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
    /// Border colour.
    pub border_color: Color,
    /// Whether rows that pass `bottom` continue on a new page (`true`) or
    /// are an overflow error (`false`).
    pub continues: bool,
    /// Lowest y the table may reach on a page (`None`: the page's bottom
    /// margin, or the page edge).
    pub bottom: Option<f32>,
    /// Top of the table on continuation pages (`None`: the top margin, or
    /// the table's own `y` when there is no margin).
    pub continue_y: Option<f32>,
    /// Rows.
    pub rows: Vec<TableRow>,
}

/// `<row>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Row height.
    pub height: f32,
    /// A header row: repeated at the top of every continuation page.
    pub header: bool,
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
    /// Number of rows spanned.
    pub rowspan: usize,
    /// Border widths set on this cell: top, right, bottom, left (`None`: the
    /// table's `border`).
    pub borders: [Option<f32>; 4],
    /// Horizontal alignment.
    pub align: Align,
    /// Vertical alignment.
    pub valign: VAlign,
    /// Inner padding in points: top, right, bottom, left.
    pub padding: [f32; 4],
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
    /// Where it stands in the markup.
    pub pos: Pos,
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
    /// Where it stands in the markup.
    pub pos: Pos,
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
        self.check_attrs(node, PAGE_ATTRS)?;
        let (w, h) = self.page_size(node, None)?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            margins: Margins::default(),
            style: Style::default(),
        };
        ctx.margins = self.margins(node, &ctx, Margins::default())?;
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
            if pages.len() == MAX_PAGES {
                return Err(self.err(
                    child,
                    format!(
                        "ページが多すぎます: 上限 {MAX_PAGES} ページ (too many pages: limit {MAX_PAGES})"
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
        self.check_attrs(node, PAGE_ATTRS)?;
        let (w, h) = self.page_size(node, Some((form.page_w, form.page_h)))?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            margins: form.margins,
            style: form.style.clone(),
        };
        ctx.margins = self.margins(node, &ctx, form.margins)?;
        ctx.style = self.style(node, &ctx, &form.style)?;
        let mut elements = Vec::new();
        for child in self.elements(node)? {
            elements.push(self.element(child, &ctx)?);
        }
        Ok(FormPage {
            width: w,
            height: h,
            margins: ctx.margins,
            elements,
        })
    }

    /// `margin="all"`, `"vertical horizontal"` or `"top right bottom left"`.
    fn margins(&self, node: Node, ctx: &Ctx, inherit: Margins) -> Result<Margins, MarkupError> {
        let Some(v) = node.attribute("margin") else {
            return Ok(inherit);
        };
        let mut vals = Vec::new();
        for part in v.split_whitespace() {
            vals.push(self.length_rel(node, "margin", part, ctx.style.size, ctx.page_w)?);
        }
        let m = match vals.as_slice() {
            [a] => Margins {
                top: *a,
                right: *a,
                bottom: *a,
                left: *a,
            },
            [vert, hor] => Margins {
                top: *vert,
                right: *hor,
                bottom: *vert,
                left: *hor,
            },
            [t, r, b, l] => Margins {
                top: *t,
                right: *r,
                bottom: *b,
                left: *l,
            },
            _ => {
                return Err(self.err(
                    node,
                    format!(
                        "margin は長さ 1, 2, 4 個です (margin takes 1, 2 or 4 lengths, got {v})"
                    ),
                ))
            }
        };
        if [m.top, m.right, m.bottom, m.left].iter().any(|x| *x < 0.0)
            || m.left + m.right >= ctx.page_w
            || m.top + m.bottom >= ctx.page_h
        {
            return Err(self.err(
                node,
                format!("margin {v} が用紙に収まりません (margins do not fit the page)"),
            ));
        }
        Ok(m)
    }

    fn element(&self, node: Node, ctx: &Ctx) -> Result<Element, MarkupError> {
        match node.tag_name().name() {
            "text" => self.text(node, ctx).map(Element::Text),
            "para" => self.para(node, ctx).map(Element::Para),
            "table" => self.table(node, ctx).map(Element::Table),
            "line" => self.line(node, ctx).map(Element::Line),
            "rect" => self.rect(node, ctx).map(Element::Rect),
            "image" => self.image(node, ctx).map(Element::Image),
            "qr" => self.qr(node, ctx).map(Element::Qr),
            "barcode" => self.barcode(node, ctx).map(Element::Barcode),
            other => Err(self.err(
                node,
                format!(
                    "要素 <{other}> は使えません (unknown element); 使える要素: text, para, table, line, rect, image, qr, barcode"
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
    fn ruby(&self, node: Node, style: &Style) -> Result<Run, MarkupError> {
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

    fn qr(&self, node: Node, ctx: &Ctx) -> Result<QrEl, MarkupError> {
        self.check_attrs(node, &["x", "y", "size", "level", "quiet", "color"])?;
        let s = &ctx.style;
        let level = match node.attribute("level") {
            None | Some("M") => QrLevel::M,
            Some("L") => QrLevel::L,
            Some("Q") => QrLevel::Q,
            Some("H") => QrLevel::H,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("level は L, M, Q, H のいずれかです (got {v})"),
                ))
            }
        };
        let quiet = match node.attribute("quiet") {
            None => 4,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n <= 16).ok_or_else(|| {
                self.err(
                    node,
                    format!("quiet {v} は 0〜16 の整数です (bad quiet zone)"),
                )
            })?,
        };
        let mut text = String::new();
        for c in node.children() {
            if c.is_element() {
                return Err(self.err(c, "<qr> の中は文字だけです (only text inside <qr>)".into()));
            }
            text.push_str(c.text().unwrap_or(""));
        }
        Ok(QrEl {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            size: self.req_length(node, "size", ctx, s, Axis::W)?,
            level,
            quiet,
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            text: text.trim().to_string(),
        })
    }

    fn barcode(&self, node: Node, ctx: &Ctx) -> Result<BarcodeEl, MarkupError> {
        self.check_attrs(
            node,
            &[
                "kind",
                "postal",
                "address",
                "address-b",
                "x",
                "y",
                "size",
                "on-error",
            ],
        )?;
        if !self.elements(node)?.is_empty() {
            return Err(self.err(
                node,
                "<barcode> の中には何も書けません (barcode must be empty)".into(),
            ));
        }
        match node.attribute("kind") {
            Some("jp-customer") => {}
            Some(v) => {
                return Err(self.err(
                    node,
                    format!(
                        "kind {v} は使えません; 使えるもの: jp-customer (unknown barcode kind)"
                    ),
                ))
            }
            None => {
                return Err(self.err(
                    node,
                    "<barcode> には kind が必要です (attribute kind required: jp-customer)".into(),
                ))
            }
        }
        let postal = node
            .attribute("postal")
            .ok_or_else(|| {
                self.err(
                    node,
                    "<barcode> には postal が必要です (attribute postal required)".into(),
                )
            })?
            .to_string();
        let address = match (node.attribute("address"), node.attribute("address-b")) {
            (Some(a), None) => BarcodeAddress::Full(a.to_string()),
            (None, Some(b)) => BarcodeAddress::B(b.to_string()),
            _ => {
                return Err(self.err(
                    node,
                    "<barcode> には address か address-b のどちらか一方が必要です (exactly one of address, address-b)".into(),
                ))
            }
        };
        let point_size = match node.attribute("size") {
            None => crate::japan::barcode::DEFAULT_POINT_SIZE,
            Some(v) => {
                let pt = self.abs_length(node, "size", v)?;
                if !(crate::japan::barcode::MIN_POINT_SIZE..=crate::japan::barcode::MAX_POINT_SIZE)
                    .contains(&pt)
                {
                    return Err(self.err(
                        node,
                        format!(
                            "size {v} は 8pt〜11.5pt です (barcode point size must be 8–11.5 pt)"
                        ),
                    ));
                }
                pt
            }
        };
        let on_error = match node.attribute("on-error") {
            None | Some("reject") => OnBarcodeError::Reject,
            Some("warn") => OnBarcodeError::Warn,
            Some("omit") => OnBarcodeError::Omit,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("on-error は reject, warn, omit のいずれかです (got {v})"),
                ))
            }
        };
        let s = &ctx.style;
        Ok(BarcodeEl {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            point_size,
            postal,
            address,
            on_error,
        })
    }

    fn valign(&self, node: Node, default: Option<VAlign>) -> Result<Option<VAlign>, MarkupError> {
        Ok(match node.attribute("valign") {
            None => default,
            Some("middle") => Some(VAlign::Middle),
            Some("top") => Some(VAlign::Top),
            Some("bottom") => Some(VAlign::Bottom),
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("valign は top, middle, bottom のいずれかです (got {v})"),
                ))
            }
        })
    }

    fn text(&self, node: Node, ctx: &Ctx) -> Result<TextBox, MarkupError> {
        let mut allowed = vec![
            "x",
            "y",
            "w",
            "h",
            "align",
            "valign",
            "baseline",
            "fit",
            "min-font-size",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let w = self.opt_length(node, "w", ctx, &style, Axis::W)?;
        let align = self.align(node, Align::Left)?;
        if w.is_none() && align != Align::Left {
            return Err(self.err(node, "align には w が必要です (align needs w)".into()));
        }
        Ok(TextBox {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            w,
            h: self.opt_length(node, "h", ctx, &style, Axis::H)?,
            valign: self.valign(node, None)?,
            baseline: self.opt_length(node, "baseline", ctx, &style, Axis::H)?,
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
            w: self.req_length(node, "w", ctx, &style, Axis::W)?,
            h: self.opt_length(node, "h", ctx, &style, Axis::H)?,
            line_height: self.number(node, "line-height", 1.5)?,
            indent: self
                .opt_length(node, "indent", ctx, &style, Axis::W)?
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
        let mut allowed = vec![
            "x",
            "y",
            "columns",
            "row-height",
            "border",
            "border-color",
            "overflow",
            "bottom",
            "continue-y",
        ];
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
            columns.push(self.length(node, "columns", c, &style, area_w(ctx))?);
        }
        if columns.is_empty() {
            return Err(self.err(node, "columns が空です (no columns)".into()));
        }
        let row_height = self
            .opt_length(node, "row-height", ctx, &style, Axis::H)?
            .unwrap_or(style.size * 2.0);
        let border = self
            .opt_length(node, "border", ctx, &style, Axis::W)?
            .unwrap_or(0.5);
        let continues = match node.attribute("overflow") {
            None | Some("error") => false,
            Some("continue") => true,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("overflow は error か continue です (got {v})"),
                ))
            }
        };
        let mut rows = Vec::new();
        let mut grid_rows = Vec::new();
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
            let mut allowed = vec!["h", "header"];
            allowed.extend_from_slice(Self::STYLE_ATTRS);
            self.check_attrs(r, &allowed)?;
            let rstyle = self.style(r, ctx, &style)?;
            let height = self
                .opt_length(r, "h", ctx, &rstyle, Axis::H)?
                .unwrap_or(row_height);
            let header = match r.attribute("header") {
                Some(v) => self.boolean(r, "header", v)?,
                None => false,
            };
            if header && rows.iter().any(|row: &TableRow| !row.header) {
                return Err(self.err(
                    r,
                    "見出し行は表の先頭に書きます (header rows must come first)".into(),
                ));
            }
            let mut cells: Vec<(Node, TableCell)> = Vec::new();
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
                cells.push((c, self.cell(c, ctx, &rstyle)?));
            }
            let cells = cells;
            grid_rows.push((
                r,
                cells
                    .iter()
                    .map(|(n, c)| (*n, c.colspan, c.rowspan))
                    .collect::<Vec<_>>(),
            ));
            rows.push(TableRow {
                height,
                header,
                cells: cells.into_iter().map(|(_, c)| c).collect(),
            });
        }
        self.check_grid(columns.len(), &grid_rows)?;
        Ok(Table {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            columns,
            border,
            border_color: match node.attribute("border-color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            continues,
            bottom: self.opt_length(node, "bottom", ctx, &style, Axis::Y)?,
            continue_y: self.opt_length(node, "continue-y", ctx, &style, Axis::Y)?,
            rows,
        })
    }

    /// Checks that cells fit the column grid, rowspans included.
    #[allow(clippy::type_complexity)]
    fn check_grid(
        &self,
        ncols: usize,
        rows: &[(Node, Vec<(Node, usize, usize)>)],
    ) -> Result<(), MarkupError> {
        // Rows still covered by a rowspan from above, per column.
        let mut covered = vec![0usize; ncols];
        for (i, (row, cells)) in rows.iter().enumerate() {
            let mut col = 0;
            for (node, colspan, rowspan) in cells {
                while col < ncols && covered[col] > 0 {
                    col += 1;
                }
                if col + colspan > ncols {
                    return Err(self.err(
                        *node,
                        format!("セルが列からはみ出します (cell does not fit the table's {ncols} columns)"),
                    ));
                }
                if i + rowspan > rows.len() {
                    return Err(self.err(
                        *node,
                        "rowspan が表の行数を超えます (rowspan goes past the last row)".into(),
                    ));
                }
                for c in covered.iter_mut().skip(col).take(*colspan) {
                    if *c > 0 {
                        return Err(self.err(
                            *node,
                            "セルが上の行の rowspan と重なります (cell overlaps a rowspan)".into(),
                        ));
                    }
                    *c = *rowspan;
                }
                col += colspan;
            }
            let _ = row;
            for c in &mut covered {
                *c = c.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn cell(&self, node: Node, ctx: &Ctx, row_style: &Style) -> Result<TableCell, MarkupError> {
        let mut allowed = vec![
            "colspan",
            "rowspan",
            "border-top",
            "border-right",
            "border-bottom",
            "border-left",
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
        let rowspan = match node.attribute("rowspan") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| self.err(node, format!("rowspan {v} は 1 以上の整数です")))?,
            None => 1,
        };
        let valign = self
            .valign(node, Some(VAlign::Middle))?
            .unwrap_or(VAlign::Middle);
        let mut borders = [None; 4];
        for (i, name) in ["border-top", "border-right", "border-bottom", "border-left"]
            .iter()
            .enumerate()
        {
            borders[i] = self.opt_length(node, name, ctx, &style, Axis::W)?;
        }
        Ok(TableCell {
            pos: self.pos(node),
            colspan,
            rowspan,
            borders,
            align: self.align(node, Align::Left)?,
            valign,
            padding: match node.attribute("padding") {
                None => {
                    let (v, h) = (1.0 * PT_PER_MM, 1.5 * PT_PER_MM);
                    [v, h, v, h]
                }
                Some(v) => {
                    let parts: Vec<&str> = v.split_whitespace().collect();
                    let one = |p: &str| self.length(node, "padding", p, &style, area_w(ctx));
                    match parts.as_slice() {
                        [all] => [one(all)?; 4],
                        [vertical, horizontal] => {
                            let (v, h) = (one(vertical)?, one(horizontal)?);
                            [v, h, v, h]
                        }
                        [t, r, b, l] => [one(t)?, one(r)?, one(b)?, one(l)?],
                        _ => {
                            return Err(self.err(
                                node,
                                format!("padding は長さ 1, 2, 4 個です (padding takes 1, 2 or 4 lengths: all / vertical horizontal / top right bottom left; got {v})"),
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
        self.check_attrs(
            node,
            &["x1", "y1", "x2", "y2", "width", "color", "dash", "style"],
        )?;
        let s = &ctx.style;
        let width = self
            .opt_length(node, "width", ctx, s, Axis::W)?
            .unwrap_or(0.5);
        let mut dash = match node.attribute("style") {
            None | Some("solid") => Vec::new(),
            Some("dashed") => vec![3.0 * width.max(0.5), 2.0 * width.max(0.5)],
            Some("dotted") => vec![width.max(0.5), width.max(0.5)],
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("style は solid, dashed, dotted のいずれかです (got {v})"),
                ))
            }
        };
        if let Some(v) = node.attribute("dash") {
            dash.clear();
            for part in v.split_whitespace() {
                let d = self.length(node, "dash", part, s, area_w(ctx))?;
                if d < 0.0 {
                    return Err(self.err(
                        node,
                        format!("dash {v} は正の長さです (dash lengths must be positive)"),
                    ));
                }
                dash.push(d);
            }
            if !dash.is_empty() && dash.iter().all(|d| *d == 0.0) {
                dash.clear();
            }
        }
        Ok(LineEl {
            pos: self.pos(node),
            x1: self.req_length(node, "x1", ctx, s, Axis::X)?,
            y1: self.req_length(node, "y1", ctx, s, Axis::Y)?,
            x2: self.req_length(node, "x2", ctx, s, Axis::X)?,
            y2: self.req_length(node, "y2", ctx, s, Axis::Y)?,
            width,
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
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            w: self.req_length(node, "w", ctx, s, Axis::W)?,
            h: self.req_length(node, "h", ctx, s, Axis::H)?,
            stroke: self
                .opt_length(node, "stroke", ctx, s, Axis::W)?
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
                .opt_length(node, "radius", ctx, s, Axis::W)?
                .unwrap_or(0.0),
        })
    }

    fn image(&self, node: Node, ctx: &Ctx) -> Result<ImageEl, MarkupError> {
        self.check_attrs(node, &["src", "x", "y", "w", "h"])?;
        let s = &ctx.style;
        let src = node
            .attribute("src")
            .ok_or_else(|| self.err(node, "<image> には src が必要です (src required)".into()))?;
        let w = self.opt_length(node, "w", ctx, s, Axis::W)?;
        let h = self.opt_length(node, "h", ctx, s, Axis::H)?;
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
        let m = ctx.margins;
        let (whole, offset) = match axis {
            Axis::X => (area_w(ctx), m.left),
            Axis::Y => (area_h(ctx), m.top),
            Axis::W => (area_w(ctx), 0.0),
            Axis::H => (area_h(ctx), 0.0),
        };
        node.attribute(name)
            .map(|v| {
                let l = self.length(node, name, v, style, whole)?;
                Ok(if v.trim().ends_with('%') {
                    l + offset
                } else {
                    l
                })
            })
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

/// Width of the safe area (page minus left and right margins).
fn area_w(ctx: &Ctx) -> f32 {
    ctx.page_w - ctx.margins.left - ctx.margins.right
}

/// Height of the safe area.
fn area_h(ctx: &Ctx) -> f32 {
    ctx.page_h - ctx.margins.top - ctx.margins.bottom
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
    if unit.is_empty() && n == 0.0 {
        return Some(0.0); // "0" needs no unit
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn margins_make_percentages_relative_to_the_safe_area() {
        let f = parse(
            "<form margin=\"10mm 20mm\"><page><rect x=\"50%\" y=\"0%\" w=\"50%\" h=\"10mm\"/></page></form>",
        )
        .unwrap();
        let p = &f.pages[0];
        assert!((p.margins.left - mm(20.0)).abs() < 0.01);
        let Element::Rect(r) = &p.elements[0] else {
            panic!()
        };
        // Safe area 170mm wide starting at 20mm.
        assert!((r.x - mm(20.0 + 85.0)).abs() < 0.01);
        assert!((r.y - mm(10.0)).abs() < 0.01);
        assert!((r.w - mm(85.0)).abs() < 0.01);
        let e = parse("<form margin=\"200mm\"><page/></form>").unwrap_err();
        assert!(e.message.contains("margin"));
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

    #[test]
    fn table_grid_is_checked_with_rowspans() {
        let ok = parse(
            "<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm 10mm\">\
             <row header=\"true\"><cell>a</cell><cell>b</cell></row>\
             <row><cell rowspan=\"2\" border-left=\"1pt\">c</cell><cell>d</cell></row>\
             <row><cell>e</cell></row></table></page></form>",
        )
        .unwrap();
        let Element::Table(t) = &ok.pages[0].elements[0] else {
            panic!()
        };
        assert!(t.rows[0].header && !t.rows[1].header);
        assert_eq!(t.rows[1].cells[0].rowspan, 2);
        assert_eq!(t.rows[1].cells[0].borders, [None, None, None, Some(1.0)]);
        // A third cell in the last row collides with the rowspan.
        let e = parse(
            "<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm 10mm\">\
             <row><cell rowspan=\"2\">c</cell><cell>d</cell></row>\
             <row><cell>e</cell><cell>f</cell></row></table></page></form>",
        )
        .unwrap_err();
        assert_eq!(e.pos.col, 126, "{e}"); // the cell <cell>f</cell>
                                           // rowspan past the end, header after a body row.
        assert!(parse("<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm\"><row><cell rowspan=\"2\">c</cell></row></table></page></form>").is_err());
        assert!(parse("<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm\"><row><cell>c</cell></row><row header=\"true\"><cell>h</cell></row></table></page></form>").is_err());
    }

    #[test]
    fn landscape_swaps_dimensions() {
        let f = parse("<form size=\"A4\" orientation=\"landscape\"><page/></form>").unwrap();
        assert!(f.pages[0].width > f.pages[0].height);
    }
}
