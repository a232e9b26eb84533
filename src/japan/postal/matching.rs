//! Matching an address, in canonical form, against the names of one table
//! entry: the prefecture (optional), the city (a 郡 may be left out), the
//! town (after an optional 大字/字, or after a street in 京都市) and the 丁目
//! ranges of towns split across codes. Uses the table's entries and the
//! canonical form.

use crate::japan::postal::canon::Canon;
use crate::japan::postal::table::Entry;
use crate::japan::postal::verdict::Status;
use std::sync::OnceLock;

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

/// [`PREFECTURES`] in canonical form, made on first use.
fn prefecture_canons() -> &'static [Vec<char>] {
    static P: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    P.get_or_init(|| PREFECTURES.iter().map(|p| Canon::new(p).chars).collect())
}

/// Position after the prefecture (optional) and the city of `e`, or the
/// level of disagreement: another prefecture written, or another city.
pub(super) fn match_pref_city(addr: &Canon, e: &Entry<'_>) -> Result<usize, Status> {
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
pub(super) fn match_town(addr: &Canon, pos: usize, town: &str) -> Option<usize> {
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
pub(super) fn kyoto_town(addr: &Canon, pos: usize, e: &Entry<'_>) -> Option<usize> {
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
pub(super) fn chome_range(note: &str) -> Option<std::ops::RangeInclusive<u32>> {
    let body = note.strip_suffix("丁目")?;
    let (a, b) = body.split_once('〜').unwrap_or((body, body));
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    Some(a..=b)
}

/// The 丁目 number at the start of 住所B (`3丁目…`, `三丁目…`, `3-30-8`).
pub(super) fn leading_chome(b: &str) -> Option<u32> {
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

    #[test]
    fn chome_ranges() {
        assert_eq!(chome_range("1〜7丁目"), Some(1..=7));
        assert_eq!(chome_range("次のビルを除く"), None);
        assert_eq!(leading_chome("3丁目30-8"), Some(3));
        assert_eq!(leading_chome("十二丁目"), Some(12));
        assert_eq!(leading_chome("400"), None);
    }
}
