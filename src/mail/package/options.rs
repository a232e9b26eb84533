//! How packages are written: compression, split limits, password, the
//! entries' timestamp, whether names may be listed.
//!
//! Plain options built by the run from the job; uses the job's
//! [`Compression`], the package [`Password`] and [`crate::files`]' modes.

use crate::error::BatchError;
use crate::job::Compression;
use crate::mail::package::password::Password;
use zip::DateTime;

/// How packages are written.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// Stored or deflated.
    pub compression: Compression,
    /// At most this many documents per zip.
    pub max_documents: Option<usize>,
    /// At most this many bytes of documents (uncompressed) per zip.
    pub max_bytes: Option<u64>,
    /// Encrypt every entry with AES-256 when set.
    pub password: Option<Password>,
    /// Timestamp of every entry, `(year, month, day)`; 1980-01-01 by default.
    pub date: (u16, u8, u8),
    /// Whether recipient names may appear in the manifests (the job's choice;
    /// when false, names handed in are dropped).
    pub include_names: bool,
    /// Mode of every file written (the zips and `packages.json`): the
    /// job's owner-only rule, since packages hold personal data (0600, or
    /// 0640 with `permissions = "group"`).
    pub file_mode: u32,
}

impl Default for PackageOptions {
    fn default() -> Self {
        PackageOptions {
            compression: Compression::Stored,
            max_documents: None,
            max_bytes: None,
            password: None,
            date: (1980, 1, 1),
            include_names: false,
            file_mode: crate::files::Modes::default().file,
        }
    }
}

impl PackageOptions {
    /// Sets the entries' timestamp from a `YYYY-MM-DD` issue date.
    pub fn with_issue_date(mut self, date: &str) -> Result<Self, BatchError> {
        let bad = || {
            BatchError::Input(format!(
                "発行日を zip の日付にできません (issue date cannot be a zip timestamp, 1980–2107, YYYY-MM-DD): {date}"
            ))
        };
        let mut it = date.split('-');
        let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        let (y, m, d) = (
            y.parse::<u16>().map_err(|_| bad())?,
            m.parse::<u8>().map_err(|_| bad())?,
            d.parse::<u8>().map_err(|_| bad())?,
        );
        DateTime::from_date_and_time(y, m, d, 0, 0, 0).map_err(|_| bad())?;
        self.date = (y, m, d);
        Ok(self)
    }

    pub(crate) fn splits(&self) -> bool {
        self.max_documents.is_some() || self.max_bytes.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_date_sets_timestamp() {
        let o = PackageOptions::default()
            .with_issue_date("2025-04-01")
            .unwrap();
        assert_eq!(o.date, (2025, 4, 1));
        assert!(PackageOptions::default()
            .with_issue_date("1970-01-01")
            .is_err());
        assert!(PackageOptions::default()
            .with_issue_date("2025-13-01")
            .is_err());
    }
}
