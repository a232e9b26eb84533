//! chohyo (帳票): spreadsheets of HR requests in, checked records, Japanese
//! PDF certificates and notices out, packaged with manifests.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! source (Sheet of Rows) → check (Record | Reject) → template (markup text)
//!   → form (Form tree) → layout (Pages of positioned ops) → pdf (bytes)
//!   → batch (run directory, manifests)
//! ```
//!
//! Rendering one document is a pure function of the record, the template,
//! the batch's fonts and images and the batch options, so documents render in
//! parallel and the output is byte-identical whatever the thread count.

pub mod check;
pub mod cli;
pub mod error;
pub mod files;
pub mod input;
pub mod japan;
pub mod job;
pub mod mail;
pub mod pdf;
pub mod render;
pub mod run;
