//! The typed markup tree: a [`Form`] of pages of [`Element`]s, every length
//! already in points, every element with its [`Pos`] in the markup for later
//! messages. Plain data: the layout reads it, nothing here measures text.
//!
//! May use `crate::render::page` (colours).

use super::Pos;
use crate::render::page::Color;

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
/// Layout never rejects a record for its data: a row whose postal code and
/// address give no barcode is rejected by the check stage (`E_BARCODE`,
/// with the job's `[mail] address_field`), before it is given a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBarcodeError {
    /// The default: the check stage rejects such rows; a record that still
    /// reaches layout without a barcode (the check off, or a value that is
    /// not the job's address field) gets the document without the barcode
    /// and a warning, as with `Warn`.
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
    /// Where lines may break (`break="address"`).
    pub breaking: LineBreaking,
    /// The text.
    pub runs: Vec<Run>,
}

/// Where a paragraph's lines may break.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LineBreaking {
    /// Wherever UAX #14 and the kinsoku rules allow.
    #[default]
    Text,
    /// The text is one postal address: lines break between its parts as a
    /// person would (`japan::postal::AddressBreak`), falling back to the
    /// text rules only inside a part longer than a line. `postal` (the
    /// markup's `postal` attribute) finds the place in the postal table
    /// directly.
    Address { postal: Option<String> },
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
