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

pub mod barcode;
pub mod batch;
pub mod cfb_check;
pub mod check;
pub mod cli;
pub mod delivery;
pub mod docid;
pub mod era;
pub mod fonts;
pub mod form;
pub mod image;
pub mod job;
pub mod kinsoku;
pub mod layout;
pub mod ledger;
pub mod limits;
pub mod mailorder;
pub mod ods_check;
pub mod package;
pub mod page;
pub mod pdf;
pub mod postal;
pub mod printfile;
pub mod rejects;
pub mod report;
pub mod rules;
pub mod runlog;
pub mod runstate;
pub mod source;
pub mod spool;
pub mod template;
pub mod textfmt;
pub mod xls_check;
pub mod xlsx_check;
