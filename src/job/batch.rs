//! `[job]` (the job's identity and output file names) and `[batch]` (issue
//! date and document numbers). Plain configuration; uses nothing of ours.

use std::collections::HashSet;

use serde::Deserialize;

/// `[job]`: identity of the job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Short ASCII name, used for the run directory (`out/<name>/…`).
    pub name: String,
    /// Document kind printed in manifests and PDF titles (e.g. 在職証明書).
    pub title: String,
    /// The field whose value identifies a record (e.g. the request number).
    pub record_id: String,
    /// Output file name pattern; `{field}` is replaced by the field's value.
    #[serde(default = "default_file_name")]
    pub file_name: String,
}

fn default_file_name() -> String {
    "{id}.pdf".into()
}

/// `[batch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSection {
    /// Issue date printed on the documents and written as the PDFs' creation
    /// date (`YYYY-MM-DD`); also the default batch id. Fixed in the job so a
    /// re-run gives identical bytes.
    pub issue_date: String,
    /// First document number of a number series' fiscal year (the ledger
    /// continues from its last number after that).
    #[serde(default = "one")]
    pub number_start: u64,
    /// Number series in the ledger (default: the job name); numbers run per
    /// series per fiscal year (April 1 – March 31).
    pub series: Option<String>,
}

fn one() -> u64 {
    1
}

impl JobSection {
    /// `job.name` names a folder: ASCII letters, digits, `-` and `_` only.
    pub(crate) fn check_name(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(
                "job.name は英数字・-・_ だけで書きます (job.name must be ASCII letters, digits, - or _)".into(),
            );
        }
        Ok(())
    }

    /// The placeholders of `job.file_name` must be `id`, `no` or one of
    /// `fields` (the main fields).
    pub(crate) fn check_file_name(&self, fields: &HashSet<&str>) -> Result<(), String> {
        for name in placeholders(&self.file_name) {
            if name != "id" && name != "no" && !fields.contains(name) {
                return Err(format!(
                    "job.file_name の {{{name}}} はどの fields.name にもありません (unknown placeholder)"
                ));
            }
        }
        Ok(())
    }
}

impl BatchSection {
    /// `batch.issue_date` is a date `YYYY-MM-DD`.
    pub(crate) fn check_issue_date(&self) -> Result<(), String> {
        if chrono::NaiveDate::parse_from_str(&self.issue_date, "%Y-%m-%d").is_err() {
            return Err(format!(
                "batch.issue_date「{}」は YYYY-MM-DD で書きます (issue_date must be YYYY-MM-DD)",
                self.issue_date
            ));
        }
        Ok(())
    }
}

/// The `{name}` placeholders of a file name pattern.
fn placeholders(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("{a}-{b}.pdf"), vec!["a", "b"]);
        assert!(placeholders("x.pdf").is_empty());
    }
}
