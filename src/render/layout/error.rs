//! Why a document could not be laid out ([`LayoutError`]), with the reject
//! code each reason gives.
//!
//! May use `crate::render::form` (positions).

use crate::japan::barcode;
use crate::render::form::Pos;
use std::fmt;

/// Why a document could not be laid out. Messages name the markup position
/// and, for missing glyphs, the character — never other record data.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutError {
    /// No font of the slot's chain has this character.
    MissingGlyph {
        /// Element position in the markup.
        pos: Pos,
        /// The character.
        ch: char,
        /// The font slot.
        slot: String,
    },
    /// Text does not fit its box (and may not shrink further).
    Overflow {
        /// Element position in the markup.
        pos: Pos,
        /// Which element kind.
        element: &'static str,
    },
    /// The markup names a font slot the batch does not have.
    UnknownFont {
        /// Element position in the markup.
        pos: Pos,
        /// The slot name.
        slot: String,
    },
    /// The markup names an image the batch does not have.
    UnknownImage {
        /// Element position in the markup.
        pos: Pos,
        /// The image name.
        src: String,
    },
    /// Something is drawn outside the page's margins (its safe area).
    OutsideMargins {
        /// Element position in the markup.
        pos: Pos,
        /// Which element kind.
        element: &'static str,
    },
    /// Something is drawn outside the paper itself (whether or not the
    /// page has margins): nothing may be printed off the sheet.
    OutsidePaper {
        /// Element position in the markup.
        pos: Pos,
        /// Which element kind.
        element: &'static str,
    },
    /// A `<barcode>`'s quiet zone does not lie inside the page (and its
    /// margins): the template places it badly.
    BarcodePlacement {
        /// Element position in the markup.
        pos: Pos,
    },
    /// The built-in postal-code table cannot be loaded (a broken build).
    PostalData {
        /// The loader's message.
        message: String,
    },
    /// A continuing table would make the document longer than the page
    /// limit ([`MAX_PAGES`]): the record has too many rows for one document.
    TooManyPages {
        /// Position of the table in the markup.
        pos: Pos,
        /// The limit that would be passed.
        limit: usize,
    },
}

impl LayoutError {
    /// Where in the markup the element is (none for the postal data).
    pub fn pos(&self) -> Option<Pos> {
        match self {
            LayoutError::MissingGlyph { pos, .. }
            | LayoutError::Overflow { pos, .. }
            | LayoutError::UnknownFont { pos, .. }
            | LayoutError::UnknownImage { pos, .. }
            | LayoutError::OutsideMargins { pos, .. }
            | LayoutError::OutsidePaper { pos, .. }
            | LayoutError::BarcodePlacement { pos }
            | LayoutError::TooManyPages { pos, .. } => Some(*pos),
            LayoutError::PostalData { .. } => None,
        }
    }

    /// Stable machine code for rejects and logs.
    pub fn code(&self) -> &'static str {
        match self {
            LayoutError::MissingGlyph { .. } => "E_GLYPH_MISSING",
            LayoutError::Overflow { .. } => "E_LAYOUT_OVERFLOW",
            LayoutError::UnknownFont { .. } => "E_TEMPLATE_FONT",
            LayoutError::UnknownImage { .. } => "E_TEMPLATE_IMAGE",
            LayoutError::OutsideMargins { .. } => "E_LAYOUT_MARGIN",
            LayoutError::OutsidePaper { .. } => "E_LAYOUT_PAPER",
            LayoutError::BarcodePlacement { .. } => "E_TEMPLATE_BARCODE",
            LayoutError::PostalData { .. } => "E_POSTAL_DATA",
            LayoutError::TooManyPages { .. } => "E_TOO_MANY_PAGES",
        }
    }

    /// Whether the error comes from the record's data (a reject) rather than
    /// from the template (a job error that stops the batch).
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            LayoutError::MissingGlyph { .. }
                | LayoutError::Overflow { .. }
                | LayoutError::OutsideMargins { .. }
                | LayoutError::OutsidePaper { .. }
                | LayoutError::TooManyPages { .. }
        )
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::MissingGlyph { pos, ch, slot } => write!(
                f,
                "文字「{ch}」(U+{:04X}) を表示できるフォントがありません (no font in slot {slot} has this character) [{pos}]",
                *ch as u32
            ),
            LayoutError::Overflow { pos, element } => write!(
                f,
                "文字が枠に収まりません (text does not fit its <{element}> box) [{pos}]"
            ),
            LayoutError::UnknownFont { pos, slot } => {
                write!(f, "フォント枠 {slot} がありません (unknown font slot) [{pos}]")
            }
            LayoutError::UnknownImage { pos, src } => {
                write!(f, "画像 {src} がありません (unknown image) [{pos}]")
            }
            LayoutError::OutsideMargins { pos, element } => write!(
                f,
                "<{element}> が余白の内側に収まりません (drawn outside the page margins) [{pos}]"
            ),
            LayoutError::OutsidePaper { pos, element } => write!(
                f,
                "<{element}> が用紙の外にはみ出します (drawn outside the paper) [{pos}]"
            ),
            LayoutError::BarcodePlacement { pos } => write!(
                f,
                "<barcode> の周囲 {}mm の余白（クワイエットゾーン）が用紙・余白の内側に収まりません (quiet zone outside the page or its margins) [{pos}]",
                barcode::QUIET_ZONE_MM
            ),
            LayoutError::PostalData { message } => write!(
                f,
                "郵便番号データを読めません (postal data cannot be loaded): {message}"
            ),
            LayoutError::TooManyPages { pos, limit } => write!(
                f,
                "ページ数が上限 {limit} ページを超えます: 表の続きのページが多すぎます \
                 (too many pages: the continuing <table> would make the document \
                 longer than {limit} pages) [{pos}]"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}
