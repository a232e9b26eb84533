//! Japanese rules as pure functions: era dates (和暦), the national
//! postal-code table and address splitting, the Japan Post customer barcode,
//! and the character-level helpers they and the other stages share (`jtext`).
//!
//! The lowest layer with the `files` leaf: it uses no other module of the
//! crate, and every stage above may use it.

pub mod barcode;
pub mod era;
pub(crate) mod jtext;
pub mod postal;
