//! The mail stage: what makes rendered documents ready to leave the office.
//!
//! Mail order and discount counts, zip packages with their manifests and
//! `verify`, print files in mail order with cover sheets, document ids with
//! check characters for `dispatch-check`. May use every stage below it
//! (`render` and `pdf` for print files); knows nothing of runs or ledgers.

pub mod address_barcode;
pub mod dispatch;
pub mod docid;
pub mod mailorder;
pub mod manifest;
pub mod package;
pub mod printfile;
