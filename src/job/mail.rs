//! `[mail]`: how documents are ordered and grouped for mailing, and the
//! bulk-mail discount thresholds. Plain configuration; uses nothing of ours.

use std::collections::HashSet;

use serde::Deserialize;

/// `[mail]`: how documents are ordered and grouped for mailing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSection {
    /// Field naming each document's group (e.g. 郵送 / 庁内便 / 窓口); none → one group `all`.
    pub group_by: Option<String>,
    /// Groups in this order first, the rest after them by name.
    #[serde(default)]
    pub group_order: Vec<String>,
    /// Groups judged against the bulk-mail discounts (empty: all).
    #[serde(default)]
    pub posted_groups: Vec<String>,
    /// Field sorted on after the postal code.
    pub sort_key: Option<String>,
    /// The postal code field.
    #[serde(default = "postal_field")]
    pub postal_field: String,
    /// The address field (for counting documents that can carry a customer
    /// barcode, and for the check of the postal code against the address).
    pub address_field: Option<String>,
    /// What the check stage does with a row whose postal code and address
    /// (both given, with `address_field` set) give no customer barcode.
    #[serde(default)]
    pub address_check: AddressCheck,
    /// The recipient name field (written into package manifests only with `package.include_names`).
    pub name_field: Option<String>,
    /// Discount thresholds (defaults from Japan Post's rules).
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Letters per volume of the per-batch outputs (labels, dispatch list,
    /// print files): each group is cut into files of at most this many
    /// letters; default [`DEFAULT_VOLUME_SIZE`].
    pub volume_size: Option<usize>,
}

/// Letters per volume when `[mail] volume_size` is not given: 500 letters
/// are one ream of paper printed duplex, 42 sheets of 12-up labels and 20
/// pages of the dispatch list (well under the per-document limit of 100
/// pages), and about 25 MB of laid-out pages in memory at a time (measured:
/// a print volume of 1,000 letters raised peak memory by 50 MB).
pub const DEFAULT_VOLUME_SIZE: usize = 500;

/// `[mail] address_check`: whether a row whose postal code and address
/// give no customer barcode (they disagree, a representative code, no
/// address number) is rejected when checked, before it is given a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressCheck {
    /// Reject the row (`E_BARCODE`); the default whenever `address_field` is set.
    #[default]
    Reject,
    /// No check: such rows are rendered (a `<barcode>` then leaves its bars
    /// out, with a warning unless `on-error="omit"`).
    Off,
}

/// Discount thresholds (item counts), defaults from `mail-discounts.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// バーコード付郵便物: items with a valid barcode, posted at once.
    pub barcode: usize,
    /// 区内特別: items to one delivery district (first five digits).
    pub district: usize,
    /// 区分郵便物: items pre-sorted by delivery district.
    pub presorted: usize,
    /// 料金後納: items a month (the batch's count is reported; the month's
    /// total is the mailing room's to add up).
    pub deferred_payment: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            barcode: 1000,
            district: 100,
            presorted: 2000,
            deferred_payment: 50,
        }
    }
}

fn postal_field() -> String {
    "postal".into()
}

impl MailSection {
    /// Every field `[mail]` names must be one of `fields` (the main fields).
    pub(crate) fn check_fields(&self, fields: &HashSet<&str>) -> Result<(), String> {
        let named = [
            ("mail.group_by", self.group_by.as_deref()),
            ("mail.sort_key", self.sort_key.as_deref()),
            ("mail.postal_field", Some(self.postal_field.as_str())),
            ("mail.address_field", self.address_field.as_deref()),
            ("mail.name_field", self.name_field.as_deref()),
        ];
        if self.volume_size == Some(0) {
            return Err("mail.volume_size は 1 以上にします (must be at least 1)".into());
        }
        for (key, field) in named {
            if let Some(f) = field {
                if !fields.contains(f) {
                    return Err(format!(
                        "{key}「{f}」はどの fields.name にもありません (unknown field)"
                    ));
                }
            }
        }
        Ok(())
    }
}
