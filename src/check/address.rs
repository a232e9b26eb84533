//! The postal code checked against the address: a row whose two values
//! give no Japan Post customer barcode (they disagree, the code is unknown
//! or a representative one, the address has no address number) is a reject
//! (`E_BARCODE`) when it is checked, before it is given a number, rather
//! than a document that fails at layout. Which fields hold the code and the
//! address is the job's `[mail]` (`postal_field`, `address_field`), and
//! `[mail] address_check = "off"` turns the check off.
//!
//! Uses `job` (the mail settings), `japan::postal` (the postal table) and
//! the stage's row checker (for the reject's columns and values).

use crate::check::row::RowChecker;
use crate::check::{MappingError, Reject};
use crate::input::Row;
use crate::japan::postal::PostalData;
use crate::job::{AddressCheck, Job};

/// The two fields checked against each other, and the postal table.
pub(super) struct AddressFields {
    postal: String,
    address: String,
    data: &'static PostalData,
}

impl AddressFields {
    /// The fields to check, when the job's `[mail]` names an address field
    /// and does not turn the check off.
    pub(super) fn of(job: &Job) -> Result<Option<AddressFields>, MappingError> {
        let Some(mail) = &job.mail else {
            return Ok(None);
        };
        let (Some(address), AddressCheck::Reject) = (&mail.address_field, mail.address_check)
        else {
            return Ok(None);
        };
        // The table is built into the binary: failing to read it is a
        // broken build, which stops the run rather than rejecting rows.
        let data = PostalData::embedded().map_err(|e| MappingError {
            message: format!(
                "郵便番号データを読めません (postal data cannot be loaded): {}",
                e.message
            ),
        })?;
        Ok(Some(AddressFields {
            postal: mail.postal_field.clone(),
            address: address.clone(),
            data,
        }))
    }

    /// The reject of a row whose postal code and address give no customer
    /// barcode. A row missing either value is left alone (whether they are
    /// required is their fields' business), and so is a postal code that
    /// was already rejected (it has no value).
    pub(super) fn check(
        &self,
        main: &RowChecker,
        row: &Row,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<Reject> {
        let text = |name: &str| match values.get(name) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        };
        let (postal, address) = (text(&self.postal)?, text(&self.address)?);
        let failure = self.data.customer_barcode(postal, address).err()?;
        Some(main.fields_reject(
            row,
            &[self.postal.clone(), self.address.clone()],
            "E_BARCODE",
            format!(
                "カスタマバーコードを作れません (no customer barcode): {}",
                failure.plain_reason()
            ),
        ))
    }
}
