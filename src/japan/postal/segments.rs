//! Where a person breaks a written address into lines: between the
//! prefecture, the city (after a 郡, and after the 市 of a city with
//! wards), the town (町域, with its 大字, or after a street in 京都市), the
//! block number (丁目・番地・号), the building and the room, and inside a
//! name only where its script changes (札幌|グランドパークレジデンス|北一条西|
//! タワー棟), never inside a katakana word or a number.
//!
//! The place part is what [`PostalData::check_address`] already finds with
//! the national table (the same matching, through
//! [`best_place`](crate::japan::postal::address)); what follows the town
//! (住所B) is read here: a block number, then a building and its room.
//! Layout (`<para break="address">`) decides which of these breaks it
//! takes; this module only says where they are and how strong each is.
//!
//! Uses the table, the canonical form, the matching rules and
//! `japan::jtext`.

use crate::japan::jtext;
use crate::japan::postal::address::{best_place, Place};
use crate::japan::postal::canon::{strip_postal_mark, Canon};
use crate::japan::postal::table::{Entry, PostalData};

/// How strongly a person would break an address line at a boundary,
/// strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Boundary {
    /// Before the building: when the address does not fit on one line,
    /// the building (with its room) goes to its own line.
    Building,
    /// After the prefecture, after the municipality (市区町村).
    Major,
    /// After a 郡, between a city and its ward, between a street and the
    /// town (京都), between the town and the block number, before a room,
    /// at a space.
    Minor,
    /// Inside a name, where its script changes (kanji, katakana, Latin and
    /// digits) or after a middle dot: only for a name longer than a line.
    Word,
}

/// A place where a line may end: the next line starts at byte `at` of the
/// address (spaces before it vanish at the break).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBreak {
    pub at: usize,
    pub kind: Boundary,
}

/// Units that follow a number in a block number (丁目, 番地, 号, …),
/// longest first.
const BLOCK_UNITS: [&str; 7] = ["丁目", "番地", "地割", "丁", "番", "号", "線"];

impl PostalData {
    /// The places where `address` may be broken into lines, in order, each
    /// with its [`Boundary`]. `postal` (any form [`PostalData::lookup`]
    /// takes) finds the place in the table directly; without it, or when it
    /// does not agree with the address, the place is searched for by name.
    /// An address the table does not know still breaks after its
    /// prefecture, before its block number, building and room, and between
    /// words.
    pub fn address_breaks(&self, address: &str, postal: Option<&str>) -> Vec<AddressBreak> {
        let text = strip_postal_mark(address);
        let base = address.len() - text.len();
        let addr = Canon::new(text);
        let place = postal
            .map(|p| self.lookup(p))
            .and_then(|entries| best_place(&addr, &entries).ok())
            .or_else(|| {
                let entries: Vec<Entry<'_>> = self
                    .codes_for_address(text)
                    .iter()
                    .flat_map(|c| self.lookup(c))
                    .collect();
                best_place(&addr, &entries).ok()
            });
        let mut out = Vec::new();
        let rest_from = match &place {
            Some(place) => place_breaks(&addr, place, &mut out),
            None => {
                let after_pref = crate::japan::postal::PREFECTURES
                    .iter()
                    .find_map(|p| text.strip_prefix(p))
                    .map_or(0, |rest| text.len() - rest.len());
                if after_pref > 0 {
                    out.push(AddressBreak {
                        at: after_pref,
                        kind: Boundary::Major,
                    });
                }
                after_pref
            }
        };
        // Word boundaries inside the names of the place (a town longer
        // than a line: 森の|ロジスティクスパーク).
        let place_chars: Vec<(usize, char)> = text[..rest_from].char_indices().collect();
        let cs: Vec<char> = place_chars.iter().map(|x| x.1).collect();
        let at = |i: usize| place_chars.get(i).map_or(rest_from, |x| x.0);
        word_breaks(&cs, 0, cs.len(), &at, &mut out);
        rest_breaks(text, rest_from, place.is_some(), &mut out);
        out.retain(|b| b.at > 0 && b.at < text.len());
        out.sort_by_key(|b| (b.at, b.kind));
        out.dedup_by_key(|b| b.at);
        for b in &mut out {
            b.at += base;
        }
        out
    }
}

/// The breaks of the place part (prefecture, city, town) found in the
/// table; the byte offset where the town ends.
fn place_breaks(addr: &Canon, place: &Place<'_>, out: &mut Vec<AddressBreak>) -> usize {
    let e = &place.entry;
    let mut push = |pos: usize, kind| {
        if let Some(Some(at)) = addr.starts.get(pos) {
            out.push(AddressBreak { at: *at, kind });
        }
    };
    let pref_end = addr
        .match_at(0, &Canon::new(e.prefecture).chars)
        .unwrap_or(0);
    push(pref_end, Boundary::Major);
    if let Some(head) = city_head(e.city) {
        if let Some(p) = addr.match_at(pref_end, &Canon::new(head).chars) {
            push(p, Boundary::Minor);
        }
    }
    push(place.city_end, Boundary::Major);
    if !e.town.is_empty() {
        let town_len = Canon::new(e.town).chars.len();
        let town_start = place.town_end.saturating_sub(town_len);
        let between = &addr.chars[place.city_end.min(town_start)..town_start];
        // 大字/字 belong to the town; anything else is a 京都 street.
        let prefix_only = between.is_empty() || between == ['大', '字'] || between == ['字'];
        if !prefix_only {
            push(town_start, Boundary::Minor);
        }
    }
    addr.byte_at(place.town_end)
}

/// The first unit of a city name with two: `余市郡` of 余市郡余市町,
/// `札幌市` of 札幌市中央区. None for a city of one unit (市川市, 蒲郡市,
/// 千代田区).
fn city_head(city: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = city.char_indices().collect();
    let last = chars.last()?.1;
    let cut = |c: char| {
        chars
            .iter()
            .skip(1)
            .find(|&&(i, ch)| ch == c && city[i + ch.len_utf8()..].chars().count() >= 2)
            .map(|&(i, ch)| &city[..i + ch.len_utf8()])
    };
    match last {
        '町' | '村' => cut('郡'),
        '区' => cut('市'),
        _ => None,
    }
}

/// The breaks after the place part, from byte `from` of `text`: before the
/// block number, the building (with a [`Boundary::Building`]) and the room,
/// at spaces, and between the words of each name.
fn rest_breaks(text: &str, from: usize, after_place: bool, out: &mut Vec<AddressBreak>) {
    let chars: Vec<(usize, char)> = text[from..]
        .char_indices()
        .map(|(i, c)| (from + i, c))
        .collect();
    let cs: Vec<char> = chars.iter().map(|x| x.1).collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |x| x.0);
    let n = cs.len();
    let skip_ws = |mut i: usize| {
        while i < n && cs[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let start = skip_ws(0);
    if start >= n {
        return;
    }
    let first_ws = (start..n).find(|&i| cs[i].is_whitespace()).unwrap_or(n);
    let block = (start..first_ws).find_map(|j| {
        let len = block_len(&cs[j..first_ws]);
        (len > 0 && (j == start || !is_number(cs[j - 1]))).then_some((j, j + len))
    });
    let building_from = match block {
        Some((j, end)) => {
            if after_place || j > start {
                out.push(AddressBreak {
                    at: at(start),
                    kind: Boundary::Minor,
                });
            }
            word_breaks(&cs, start, j, &at, out);
            out.push(AddressBreak {
                at: at(j),
                kind: Boundary::Minor,
            });
            let b = skip_ws(end);
            if b < n {
                out.push(AddressBreak {
                    at: at(b),
                    kind: Boundary::Building,
                });
            }
            b
        }
        None => {
            // No block number: the name after the town up to the first
            // space, and the building after it.
            if after_place {
                out.push(AddressBreak {
                    at: at(start),
                    kind: Boundary::Minor,
                });
            }
            word_breaks(&cs, start, first_ws, &at, out);
            let b = skip_ws(first_ws);
            if b < n {
                out.push(AddressBreak {
                    at: at(b),
                    kind: Boundary::Building,
                });
            }
            b
        }
    };
    building_breaks(&cs, building_from, &at, out);
}

/// The building part from `from`: pieces between spaces, the room at the
/// end of the last (`102号室`, `1502`, `10F`), and the words of each name.
fn building_breaks(
    cs: &[char],
    from: usize,
    at: &dyn Fn(usize) -> usize,
    out: &mut Vec<AddressBreak>,
) {
    let n = cs.len();
    let mut i = from;
    while i < n {
        let end = (i..n).find(|&k| cs[k].is_whitespace()).unwrap_or(n);
        let room = room_start(&cs[i..end]).map(|r| i + r);
        if let Some(r) = room {
            out.push(AddressBreak {
                at: at(r),
                kind: Boundary::Minor,
            });
        }
        word_breaks(cs, i, room.unwrap_or(end), at, out);
        i = end;
        while i < n && cs[i].is_whitespace() {
            i += 1;
        }
        if i < n {
            out.push(AddressBreak {
                at: at(i),
                kind: Boundary::Minor,
            });
        }
    }
}

/// Where the room number at the end of a building name starts (`102号室`,
/// `1502`, `B604`, `10F`), when a name comes before it.
fn room_start(piece: &[char]) -> Option<usize> {
    let mut e = piece.len();
    for suffix in ["号室", "号", "室", "階", "F", "Ｆ"] {
        let s: Vec<char> = suffix.chars().collect();
        if e >= s.len() && piece[e - s.len()..e] == s[..] {
            e -= s.len();
            break;
        }
    }
    let mut r = e;
    while r > 0 && (jtext::is_digit(piece[r - 1]) || is_separator(piece[r - 1])) {
        r -= 1;
    }
    // A letter before the number belongs to it (B604).
    if r > 0 && piece[r - 1].is_ascii_uppercase() && (r == 1 || !is_alnum(piece[r - 2])) {
        r -= 1;
    }
    while r < e && is_separator(piece[r]) {
        r += 1;
    }
    let has_digit = piece[r..e].iter().any(|&c| jtext::is_digit(c));
    (has_digit && r > 0).then_some(r)
}

/// Length of the block number (`2丁目1-1`, `三丁目九番十八号`, `400`,
/// `12番地の3`) at the start of `cs`, 0 when none starts there.
fn block_len(cs: &[char]) -> usize {
    let mut i = 0;
    let mut good = 0;
    loop {
        let num = cs[i..].iter().take_while(|&&c| is_number(c)).count();
        if num == 0 {
            break;
        }
        let kanji = cs[i..i + num].iter().any(|&c| jtext::is_kanji_numeral(c));
        let mut j = i + num;
        let unit = BLOCK_UNITS.iter().find_map(|u| {
            let u: Vec<char> = u.chars().collect();
            cs[j..].starts_with(&u).then_some(u.len())
        });
        match unit {
            Some(len) => j += len,
            // A kanji numeral without a unit is part of a name (三本木).
            None if kanji => break,
            None => {}
        }
        good = j;
        let sep = cs
            .get(j)
            .copied()
            .filter(|&c| is_separator(c) || c == 'の' || c == 'ノ');
        let num_after = cs.get(j + 1).is_some_and(|&c| is_number(c));
        if sep.is_some() && num_after {
            i = j + 1;
        } else if unit.is_some() && cs.get(j).is_some_and(|&c| is_number(c)) {
            i = j;
        } else {
            break;
        }
    }
    good
}

fn is_number(c: char) -> bool {
    jtext::is_digit(c) || (jtext::is_kanji_numeral(c) && c != '零')
}

/// Hyphens people type inside a block or room number.
fn is_separator(c: char) -> bool {
    matches!(c, '-' | '－' | 'ー' | '﹣') || jtext::is_dash(c)
}

fn is_alnum(c: char) -> bool {
    jtext::fold_full_width_alnum(c).is_ascii_alphanumeric()
}

/// The script of a character, for word boundaries inside a name.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Script {
    /// Kanji and hiragana (丸の内, さいたま市: one word for breaking).
    Han,
    Katakana,
    /// Latin letters and digits, both widths.
    Alnum,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'ァ'..='ヺ' | 'ー' | 'ｦ'..='ﾟ' | 'ㇰ'..='ㇿ' => Script::Katakana,
        _ if is_alnum(c) => Script::Alnum,
        'ぁ'..='ゟ' | '々' | '〆' | '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' => {
            Script::Han
        }
        '\u{20000}'..='\u{3FFFF}' => Script::Han,
        _ => Script::Other,
    }
}

/// Word boundaries inside `cs[from..to]`: where the script changes, and
/// after a middle dot (メゾン・|ソレイユ).
fn word_breaks(
    cs: &[char],
    from: usize,
    to: usize,
    at: &dyn Fn(usize) -> usize,
    out: &mut Vec<AddressBreak>,
) {
    for i in from + 1..to {
        let (a, b) = (cs[i - 1], cs[i]);
        let change = script(a) != script(b) && script(b) != Script::Other;
        let after_dot = matches!(a, '・' | '･') && script(b) != Script::Other;
        let dot_start = script(a) == Script::Other && !after_dot;
        if (change && !dot_start) || after_dot {
            out.push(AddressBreak {
                at: at(i),
                kind: Boundary::Word,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static PostalData {
        PostalData::embedded().expect("embedded postal data")
    }

    /// The address cut at every break of `kind` or stronger.
    fn cut(address: &str, postal: Option<&str>, weakest: Boundary) -> Vec<String> {
        let mut parts = Vec::new();
        let mut last = 0;
        for b in data().address_breaks(address, postal) {
            if b.kind <= weakest {
                parts.push(address[last..b.at].trim().to_string());
                last = b.at;
            }
        }
        parts.push(address[last..].trim().to_string());
        parts
    }

    #[test]
    fn segments_of_real_addresses() {
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            (
                "北海道札幌市中央区北一条西2丁目1-1　札幌グランドパークレジデンス北一条西タワー棟1502",
                Some("0600001"),
                &[
                    "北海道",
                    "札幌市",
                    "中央区",
                    "北一条西",
                    "2丁目1-1",
                    "札幌グランドパークレジデンス北一条西タワー棟",
                    "1502",
                ],
            ),
            (
                "東京都目黒区上目黒1丁目8-4",
                None,
                &["東京都", "目黒区", "上目黒", "1丁目8-4"],
            ),
            (
                "京都府京都市中京区河原町通四条上ル米屋町384",
                Some("6048026"),
                &["京都府", "京都市", "中京区", "河原町通四条上ル", "米屋町", "384"],
            ),
            (
                "東京都東村山市本町2丁目3-4　メゾン・ソレイユ１０２号室",
                None,
                &["東京都", "東村山市", "本町", "2丁目3-4", "メゾン・ソレイユ", "１０２号室"],
            ),
        ];
        for (addr, postal, want) in cases {
            assert_eq!(cut(addr, *postal, Boundary::Minor), *want, "{addr}");
        }
        let words = cut(
            "北海道札幌市中央区北一条西2丁目1-1　札幌グランドパークレジデンス北一条西タワー棟1502",
            None,
            Boundary::Word,
        );
        assert!(
            words.contains(&"グランドパークレジデンス".to_string()),
            "{words:?}"
        );
        assert!(words.contains(&"タワー".to_string()), "{words:?}");
    }

    #[test]
    fn block_numbers_and_rooms() {
        let len = |s: &str| block_len(&s.chars().collect::<Vec<_>>());
        assert_eq!(len("2丁目1-1　ビル"), "2丁目1-1".chars().count());
        assert_eq!(len("三丁目九番十八号"), 8);
        assert_eq!(len("12番地の3"), 6);
        assert_eq!(len("三本木5"), 0);
        let room = |s: &str| room_start(&s.chars().collect::<Vec<_>>());
        assert_eq!(room("グリーンハイツ203"), Some(7));
        assert_eq!(room("ABCビル10F"), Some(5));
        assert_eq!(room("コーポB604号"), Some(3));
        assert_eq!(room("1502"), None);
        assert_eq!(city_head("札幌市中央区"), Some("札幌市"));
        assert_eq!(city_head("余市郡余市町"), Some("余市郡"));
        assert_eq!(city_head("蒲郡市"), None);
        assert_eq!(city_head("千代田区"), None);
    }
}
