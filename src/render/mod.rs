//! The render stage: one checked record to laid-out pages.
//!
//! A record and the job's values become markup text through the template
//! (tera with the Japanese filters), the markup a typed [`form::Form`], the
//! form positioned pages ([`page::Page`]) with fonts, images and barcodes as
//! elements. May use `japan`, `job` and `check` (the [`crate::check::Record`]
//! it renders); knows nothing of PDF bytes, runs, ledgers or packages.

pub(crate) mod barcode;
pub mod fixed_text;
pub mod fonts;
pub mod form;
pub mod image;
pub mod kinsoku;
pub mod layout;
pub mod page;
pub mod template;
pub mod template_map;
pub mod textfmt;
