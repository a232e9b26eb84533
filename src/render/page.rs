//! Laid-out pages: the data type between the layout stage and the PDF writer.
//!
//! Everything here is already positioned. Coordinates are PostScript points
//! (1/72 inch) measured from the page's **top-left** corner with y growing
//! downwards, as Japanese forms are specified; flipping to PDF's bottom-left
//! origin is the writer's job. A [`Page`] holds no references into fonts or
//! images other than the indices [`FontId`] and [`ImageId`], so pages are
//! cheap to move between threads and compare in golden tests.

use serde::Serialize;

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// Index of a font inside a [`crate::render::fonts::FontSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FontId(pub usize);

/// Index of an image inside a [`crate::render::image::ImageSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ImageId(pub usize);

/// An RGB colour with components in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Color {
    /// Red.
    pub r: f32,
    /// Green.
    pub g: f32,
    /// Blue.
    pub b: f32,
}

impl Color {
    /// Black, the default for text and rules.
    pub const BLACK: Color = Color {
        r: 0.0,
        g: 0.0,
        b: 0.0,
    };
}

/// One page, ready to be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// Page width in points.
    pub width: f32,
    /// Page height in points.
    pub height: f32,
    /// Drawing operations in painting order (later ones paint over earlier ones).
    pub ops: Vec<Op>,
}

/// A stroke style for rules and rectangle outlines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stroke {
    /// Line width in points.
    pub width: f32,
    /// Stroke colour.
    pub color: Color,
    /// Dash pattern in points (on, off, …); empty for a solid line.
    pub dash: Vec<f32>,
}

/// One positioned drawing operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A run of glyphs in one font, size and colour on one baseline.
    Text(GlyphRun),
    /// A straight line.
    Line {
        /// Start point (x, y).
        from: (f32, f32),
        /// End point (x, y).
        to: (f32, f32),
        /// How it is stroked.
        stroke: Stroke,
    },
    /// A rectangle, optionally stroked, filled and rounded.
    Rect {
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Outline, if any.
        stroke: Option<Stroke>,
        /// Fill colour, if any.
        fill: Option<Color>,
        /// Corner radius (0 for square corners).
        radius: f32,
    },
    /// A raster image scaled into a box.
    Image {
        /// Which image of the batch's image set.
        id: ImageId,
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
    },
    /// Starts clipping to a rectangle: everything painted until the matching
    /// [`Op::ClipEnd`] is cut at its edges (used by `fit="clip"`). Clips nest.
    ClipBegin {
        /// Left edge.
        x: f32,
        /// Top edge.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
    },
    /// Ends the innermost [`Op::ClipBegin`].
    ClipEnd,
}

/// Glyphs of one font at one size, positioned individually along a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlyphRun {
    /// The font the glyph ids belong to.
    pub font: FontId,
    /// Font size in points.
    pub size: f32,
    /// Fill colour.
    pub color: Color,
    /// y of the baseline (from the top of the page).
    pub baseline: f32,
    /// The glyphs, in logical (reading) order.
    pub glyphs: Vec<Glyph>,
}

/// One glyph placed on a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Glyph {
    /// Glyph id in the font.
    pub gid: u16,
    /// x of the glyph's origin (left side of its advance box).
    pub x: f32,
    /// The text this glyph stands for (one character, or a base character
    /// followed by its variation selector); feeds the PDF's ToUnicode map so
    /// that copying and `pdftotext` give the source text back.
    pub text: String,
}
