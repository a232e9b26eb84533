//! chohyo (帳票): spreadsheets of HR requests in, checked records, Japanese
//! PDF certificates and notices out, packaged with manifests.
//!
//! The pipeline, one folder per stage, data flowing one way (the layer
//! order is declared in docs/architecture.md and enforced by
//! `tests/layers.rs`):
//!
//! ```text
//! input (Sheet of Rows) → check (Record | Reject) → render (template →
//!   markup Form → layout → Pages) → pdf (bytes) → run (run directory,
//!   manifests, ledger, report) → mail (packages, print files, labels)
//! ```
//!
//! `error`, `files` and `japan` are leaves every stage may use; `job` is the
//! configuration, plain data; `bench` measures batches (above `run`); `cli`
//! is a thin layer over `run` and `bench`.
//!
//! Rendering one document is a pure function of the record, the template,
//! the batch's fonts and images and the batch options, so documents render in
//! parallel and the output is byte-identical whatever the thread count.

pub mod bench;
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
