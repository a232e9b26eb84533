//! Where a markup mistake is ([`Pos`]) and what it is ([`MarkupError`]).
//!
//! Uses nothing of ours.

use std::fmt;

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
