//! Checking a postal code against a written address, splitting the
//! address into 住所A/住所B, suggesting codes, and the customer barcode of an
//! address. Uses the table, the canonical form, the matching rules and
//! `japan::barcode`.

use crate::japan::barcode;
use crate::japan::postal::canon::{strip_postal_mark, Canon};
use crate::japan::postal::matching::{
    chome_range, kyoto_town, leading_chome, match_pref_city, match_town,
};
use crate::japan::postal::table::{format_code, Entry, Kind, PostalData};
use crate::japan::postal::verdict::{Split, Status, Verdict};
use std::fmt;

impl PostalData {
    /// Splits a full address into 住所A (prefecture? + city + town) and 住所B
    /// (the rest, leading spaces removed) using the town names of `postal`.
    /// The prefecture may be omitted in the address; a 郡 may be omitted.
    pub fn split_address(&self, postal: &str, address: &str) -> Result<Split, Box<Verdict>> {
        let verdict = self.check_address(postal, address);
        match verdict.split {
            Some(s) if verdict.status == Status::Match => Ok(s),
            _ => Err(Box::new(verdict)),
        }
    }

    /// Checks that `postal` exists and agrees with the address's prefecture,
    /// city and town; on agreement the verdict carries the 住所A/住所B split.
    pub fn check_address(&self, postal: &str, address: &str) -> Verdict {
        let Ok(p7) = barcode::normalize_postal(postal) else {
            return Verdict::new(
                Status::InvalidCode,
                "郵便番号の形式が正しくありません（7桁の数字） (malformed postal code)".into(),
            );
        };
        let code: u32 = p7.parse().unwrap_or(0);
        let entries = self.lookup_code(code);
        if entries.is_empty() {
            return Verdict::new(
                Status::UnknownCode,
                format!(
                    "郵便番号 {} は存在しません (no such postal code)",
                    format_code(code)
                ),
            );
        }
        let address = strip_postal_mark(address);
        let addr = Canon::new(address);
        let (start, end, e) = match best_place(&addr, &entries) {
            Ok(Place {
                city_end,
                town_end,
                entry,
            }) => (city_end, town_end, entry),
            Err(status) => {
                let mut v = self.mismatch(status, &entries);
                v.suggestions = self.codes_for_address(address);
                return v;
            }
        };
        // The address may name a longer town of the same city (本町田 for
        // 本町), or a town with its own code where this is the catch-all.
        if let Some((other_end, other)) = self.longest_town(&addr, start, &e) {
            if other_end > end && !entries.iter().any(|x| x.code == other) {
                let mut v = self.mismatch(Status::TownMismatch, &entries);
                v.suggestions = vec![format_code(other)];
                return v;
            }
        }
        let a_end = addr.byte_at(end);
        let b = address[a_end..].trim_start_matches(|c: char| c.is_whitespace());
        // A town split across codes by 丁目 range: check the 丁目.
        if let Some(range) = chome_range(e.note) {
            if let Some(ch) = leading_chome(b) {
                if !range.contains(&ch) {
                    let siblings = self.partial_siblings(&e, ch);
                    let mut v = self.mismatch(Status::ChomeMismatch, &entries);
                    v.suggestions = siblings;
                    return v;
                }
            }
        }
        let mut v = Verdict::new(Status::Match, String::new());
        v.split = Some(Split {
            a: address[..a_end].trim().to_string(),
            b: b.trim_end().to_string(),
            town: e.town.to_string(),
        });
        v
    }

    /// The longest town of `e`'s city that the address names at `pos`:
    /// (end position, its first code).
    fn longest_town(&self, addr: &Canon, pos: usize, e: &Entry<'_>) -> Option<(usize, u32)> {
        let mut best: Option<(usize, u32)> = None;
        for &i in self.city_rows(e.city_id) {
            let other = self.entry(&self.rows[i as usize]);
            if other.town.is_empty() || other.kind == Kind::Office {
                continue;
            }
            if let Some(end) = match_town(addr, pos, other.town) {
                if best.is_none_or(|(b, _)| end > b) {
                    best = Some((end, other.code));
                }
            }
        }
        best
    }

    /// Codes of the same town whose 丁目 range contains `chome`.
    fn partial_siblings(&self, e: &Entry<'_>, chome: u32) -> Vec<String> {
        let mut out: Vec<String> = self
            .city_rows(e.city_id)
            .iter()
            .map(|&i| self.entry(&self.rows[i as usize]))
            .filter(|o| o.town == e.town && chome_range(o.note).is_some_and(|r| r.contains(&chome)))
            .map(|o| o.code_text())
            .collect();
        out.dedup();
        out
    }

    /// Codes whose prefecture/city/town the address names (longest town
    /// match wins), for suggestions. Cheap after the first call.
    pub fn codes_for_address(&self, address: &str) -> Vec<String> {
        let addr = Canon::new(strip_postal_mark(address));
        let mut best: Option<usize> = None;
        let mut codes: Vec<u32> = Vec::new();
        for city in 0..self.cities.len() as u16 {
            let rows = self.city_rows(city);
            let Some(first) = rows.first() else { continue };
            let e0 = self.entry(&self.rows[*first as usize]);
            let Ok(pos) = match_pref_city(&addr, &e0) else {
                continue;
            };
            for &i in rows {
                let e = self.entry(&self.rows[i as usize]);
                if e.kind == Kind::Office || e.town.is_empty() {
                    continue;
                }
                if let Some(end) = match_town(&addr, pos, e.town) {
                    if best.is_none_or(|b| end > b) {
                        best = Some(end);
                        codes.clear();
                    }
                    if best == Some(end) {
                        codes.push(e.code);
                    }
                }
            }
        }
        codes.sort_unstable();
        codes.dedup();
        codes.into_iter().map(format_code).collect()
    }

    fn mismatch(&self, status: Status, entries: &[Entry<'_>]) -> Verdict {
        let e = &entries[0];
        let mut place = e.place();
        if e.town.is_empty() && !e.note.is_empty() {
            place.push_str(&format!("（{}）", e.note));
        } else if e.building {
            if let Some((bld, _)) = e.note.split_once('|') {
                place.push_str(bld);
            }
        }
        let towns = entries.iter().filter(|x| x.town != e.town).count();
        if towns > 0 {
            place.push_str(&format!(" ほか{towns}町域"));
        }
        if status == Status::ChomeMismatch && !e.note.is_empty() {
            place.push_str(&format!(" {}", e.note));
        }
        Verdict::new(
            status,
            format!(
                "郵便番号と住所が一致しません（{} は {}） (postal code does not match the address)",
                e.code_text(),
                place
            ),
        )
    }
}

/// Where an address (in canonical form) names one entry's place: the
/// canonical positions after its prefecture and city and after its town.
pub(super) struct Place<'a> {
    pub(super) city_end: usize,
    pub(super) town_end: usize,
    pub(super) entry: Entry<'a>,
}

/// The entry among `entries` whose town the address names furthest, or
/// the most specific disagreement when none agrees.
pub(super) fn best_place<'a>(addr: &Canon, entries: &[Entry<'a>]) -> Result<Place<'a>, Status> {
    let mut best: Option<Place<'a>> = None;
    let mut status = Status::PrefectureMismatch;
    for e in entries {
        let pos = match match_pref_city(addr, e) {
            Ok(pos) => pos,
            Err(s) => {
                status = status.max(s);
                continue;
            }
        };
        status = status.max(Status::TownMismatch);
        let Some(end) = match_town(addr, pos, e.town).or_else(|| kyoto_town(addr, pos, e)) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| end > b.town_end) {
            best = Some(Place {
                city_end: pos,
                town_end: end,
                entry: *e,
            });
        }
    }
    best.ok_or(status)
}

/// Why [`PostalData::customer_barcode`] made no barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarcodeFailure {
    /// The postal code and the address disagree (or the code is unknown):
    /// the verdict's reason names the code and its place.
    Address(Box<Verdict>),
    /// The address agrees but cannot be encoded (representative code, no
    /// address number).
    Barcode(barcode::BarcodeError),
}

impl fmt::Display for BarcodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarcodeFailure::Address(v) => f.write_str(&v.reason),
            BarcodeFailure::Barcode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BarcodeFailure {}

impl BarcodeFailure {
    /// Why no barcode was made, naming neither the address nor the postal
    /// code (the [`Display`](fmt::Display) text names the code's place), so
    /// that it may go into logs and warnings.
    pub fn plain_reason(&self) -> String {
        match self {
            BarcodeFailure::Address(v) => format!(
                "郵便番号と住所が一致しません (postal code and address disagree: {})",
                v.status.name()
            ),
            BarcodeFailure::Barcode(e) => e.to_string(),
        }
    }
}

impl PostalData {
    /// The customer barcode of a full address: checks the code against the
    /// address, splits off 住所B and encodes it. This is what a
    /// `<barcode kind="jp-customer" postal=… address=…>` element needs;
    /// draw the result with [`crate::render::barcode::draw`].
    pub fn customer_barcode(
        &self,
        postal: &str,
        address: &str,
    ) -> Result<barcode::CustomerBarcode, BarcodeFailure> {
        let split = self
            .split_address(postal, address)
            .map_err(BarcodeFailure::Address)?;
        barcode::encode(postal, &split.b).map_err(BarcodeFailure::Barcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static PostalData {
        PostalData::embedded().expect("embedded postal data")
    }

    #[test]
    fn split_examples() {
        let s = data()
            .split_address("2630023", "千葉県千葉市稲毛区緑町3丁目30-8 郵便ビル403号")
            .unwrap();
        assert_eq!(s.a, "千葉県千葉市稲毛区緑町");
        assert_eq!(s.b, "3丁目30-8 郵便ビル403号");
        let s = data()
            .split_address("0600906", "北海道札幌市東区北6条東4丁目 郵便センター6号館")
            .unwrap();
        assert_eq!(s.town, "北六条東");
        assert_eq!(s.b, "4丁目 郵便センター6号館");
    }

    #[test]
    fn mismatch_reason() {
        let v = data().check_address("1530051", "東京都目黒区中目黒1-1-1");
        assert_eq!(v.status, Status::TownMismatch);
        assert!(v
            .reason
            .starts_with("郵便番号と住所が一致しません（153-0051 は 東京都目黒区上目黒）"));
    }
}
