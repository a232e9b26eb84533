//! Mail order: documents sorted and grouped the way the mailing room works,
//! with the counts Japan Post's bulk-mail discounts are judged by.
//!
//! Order: by group (in the job's order, then any other group by name), then
//! by postal code (records without a usable code last), then by the job's
//! secondary key, then by record id — a total order, so the result never
//! depends on the input order or on threads.
//!
//! Per group, [`summarize`] counts items, items per postal-code prefix
//! (first three digits) and per delivery district (first five digits), how
//! many carry a valid customer barcode, and whether each discount threshold
//! of `shared/domain/mail-discounts.md` is met. It reports counts and
//! eligibility, never yen: prices change, the rules' shapes rarely do.
//! Thresholds are data ([`Thresholds`]) so a job can follow a rule change.

use crate::job::Thresholds;
use serde::Serialize;
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

/// One document as the mail order sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailItem {
    /// The caller's index of the document (e.g. into the manifest entries).
    pub index: usize,
    /// The record id (last tie-breaker).
    pub record_id: String,
    /// The postal code as recorded (`153-0051`, `1530051`, `〒153-0051`, …).
    pub postal: String,
    /// The mailing group (e.g. 郵送 / 庁内便 / 窓口, or a department).
    pub group: String,
    /// The job-defined secondary sort key ("" when none).
    pub key: String,
    /// Whether the document carries a valid customer barcode.
    pub barcode: bool,
}

/// The seven digits of a postal code, or `None` when it is not one.
pub fn postal_digits(postal: &str) -> Option<String> {
    let s: String = postal
        .nfkc()
        .filter(|c| !matches!(c, '-' | '〒' | ' ' | '‐' | '－' | '−' | 'ー'))
        .collect();
    (s.len() == 7 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Whether a postal code (7 digits) is a representative code (ends in `00`),
/// which gets no customer barcode and no barcode discount.
pub fn is_representative(digits: &str) -> bool {
    digits.len() == 7 && digits.ends_with("00")
}

/// Sorts items into mail order. `group_order` lists the job's groups in the
/// order they should come; groups not listed follow, by name.
pub fn mail_order(items: &mut [MailItem], group_order: &[String]) {
    let rank = |g: &str| {
        group_order
            .iter()
            .position(|x| x == g)
            .unwrap_or(group_order.len())
    };
    items.sort_by(|a, b| {
        let pa = postal_digits(&a.postal);
        let pb = postal_digits(&b.postal);
        rank(&a.group)
            .cmp(&rank(&b.group))
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| pa.is_none().cmp(&pb.is_none()))
            .then_with(|| pa.cmp(&pb))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.record_id.cmp(&b.record_id))
            .then_with(|| a.index.cmp(&b.index))
    });
}

/// One volume of a per-batch output: a run of at most `size` letters of one
/// group, in mail order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The group's name.
    pub group: String,
    /// Its letters, as indices into the sorted items.
    pub range: std::ops::Range<usize>,
    /// 1-based number of the volume in the batch.
    pub number: usize,
}

impl Volume {
    /// The 通番 (1-based place in mail order) of its first letter.
    pub fn first(&self) -> usize {
        self.range.start + 1
    }

    /// The 通番 of its last letter.
    pub fn last(&self) -> usize {
        self.range.end
    }
}

/// Cuts sorted items into volumes: each group on its own, every `size`
/// letters (a group's last volume holds the rest). `size` 0 counts as 1.
pub fn volumes(items: &[MailItem], size: usize) -> Vec<Volume> {
    let size = size.max(1);
    let mut out = Vec::new();
    for (group, range) in group_ranges(items) {
        let mut start = range.start;
        while start < range.end {
            let end = (start + size).min(range.end);
            out.push(Volume {
                group: group.clone(),
                range: start..end,
                number: out.len() + 1,
            });
            start = end;
        }
    }
    out
}

/// Consecutive runs of one group in sorted items: `(group, start..end)`.
pub fn group_ranges(items: &[MailItem]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match out.last_mut() {
            Some((g, r)) if *g == item.group => r.end = i + 1,
            _ => out.push((item.group.clone(), i..i + 1)),
        }
    }
    out
}

/// One discount's verdict for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discount {
    /// Stable code: `barcode`, `district`, `presorted`, `deferred_payment`.
    pub code: &'static str,
    /// Japanese name (バーコード付郵便物, …).
    pub name: &'static str,
    /// Items that count towards it (for `district`: the largest district).
    pub count: usize,
    /// The threshold.
    pub threshold: usize,
    /// Whether `count >= threshold`.
    pub eligible: bool,
    /// For `district`: the districts (first five digits) that reach the threshold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub districts: Vec<String>,
}

/// Counts of one mailing group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GroupSummary {
    /// Group name.
    pub group: String,
    /// Items (documents) in the group.
    pub items: usize,
    /// Items whose postal code is not seven digits.
    pub without_postal: usize,
    /// Items with a representative postal code (…00).
    pub representative: usize,
    /// Items carrying a valid customer barcode (representative codes excluded).
    pub with_barcode: usize,
    /// Items per postal-code prefix (first three digits).
    pub by_prefix: BTreeMap<String, usize>,
    /// Items per delivery district (first five digits).
    pub by_district: BTreeMap<String, usize>,
    /// Discount verdicts; empty for groups that are not posted.
    pub discounts: Vec<Discount>,
}

/// Counts per group, in the order the groups first appear in `items`
/// (call after [`mail_order`]). Discounts are judged only for groups in
/// `posted_groups` (e.g. 郵送, not 庁内便 or 窓口); an empty list means all.
pub fn summarize(
    items: &[MailItem],
    posted_groups: &[String],
    thresholds: &Thresholds,
) -> Vec<GroupSummary> {
    let mut out = Vec::new();
    for (group, range) in group_ranges(items) {
        let mut s = GroupSummary {
            group: group.clone(),
            items: range.len(),
            without_postal: 0,
            representative: 0,
            with_barcode: 0,
            by_prefix: BTreeMap::new(),
            by_district: BTreeMap::new(),
            discounts: Vec::new(),
        };
        for item in &items[range] {
            let Some(d) = postal_digits(&item.postal) else {
                s.without_postal += 1;
                continue;
            };
            *s.by_prefix.entry(d[..3].to_string()).or_default() += 1;
            *s.by_district.entry(d[..5].to_string()).or_default() += 1;
            if is_representative(&d) {
                s.representative += 1;
            } else if item.barcode {
                s.with_barcode += 1;
            }
        }
        if posted_groups.is_empty() || posted_groups.contains(&group) {
            s.discounts = discounts(&s, thresholds);
        }
        out.push(s);
    }
    out
}

fn discounts(s: &GroupSummary, t: &Thresholds) -> Vec<Discount> {
    let verdict = |code, name, count, threshold| Discount {
        code,
        name,
        count,
        threshold,
        eligible: count >= threshold,
        districts: Vec::new(),
    };
    let with_postal = s.items - s.without_postal;
    let largest = s.by_district.values().copied().max().unwrap_or(0);
    let mut district = verdict("district", "区内特別", largest, t.district);
    district.districts = s
        .by_district
        .iter()
        .filter(|(_, n)| **n >= t.district)
        .map(|(d, _)| d.clone())
        .collect();
    vec![
        verdict("barcode", "バーコード付郵便物", s.with_barcode, t.barcode),
        district,
        verdict("presorted", "区分郵便物", with_postal, t.presorted),
        verdict("deferred_payment", "料金後納", s.items, t.deferred_payment),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize, id: &str, postal: &str, group: &str, key: &str) -> MailItem {
        MailItem {
            index: i,
            record_id: id.into(),
            postal: postal.into(),
            group: group.into(),
            key: key.into(),
            barcode: true,
        }
    }

    #[test]
    fn postal_codes_are_normalised() {
        assert_eq!(postal_digits("153-0051").as_deref(), Some("1530051"));
        assert_eq!(
            postal_digits("〒１５３－００５１").as_deref(),
            Some("1530051")
        );
        assert_eq!(postal_digits("153-005"), None);
        assert_eq!(postal_digits(""), None);
        assert!(is_representative("1530000"));
        assert!(!is_representative("1530051"));
    }

    #[test]
    fn sorted_by_group_order_then_postal_then_key() {
        let mut items = vec![
            item(0, "C", "263-0023", "郵送", "b"),
            item(1, "A", "", "郵送", "a"),
            item(2, "B", "100-0013", "窓口", "a"),
            item(3, "D", "100-0013", "郵送", "z"),
            item(4, "E", "263-0023", "郵送", "a"),
            item(5, "F", "100-0001", "庁内便", ""),
        ];
        mail_order(&mut items, &["郵送".into(), "庁内便".into()]);
        let order: Vec<&str> = items.iter().map(|i| i.record_id.as_str()).collect();
        assert_eq!(order, ["D", "E", "C", "A", "F", "B"]);
        let groups = group_ranges(&items);
        assert_eq!(
            groups,
            vec![
                ("郵送".to_string(), 0..4),
                ("庁内便".to_string(), 4..5),
                ("窓口".to_string(), 5..6)
            ]
        );
        // Input order does not matter.
        let mut again = items.clone();
        again.reverse();
        mail_order(&mut again, &["郵送".into(), "庁内便".into()]);
        assert_eq!(again, items);
    }

    #[test]
    fn volumes_cut_each_group_every_size_letters() {
        let mut items = Vec::new();
        for i in 0..7 {
            items.push(item(i, &format!("A{i}"), "153-0051", "郵送", ""));
        }
        for i in 7..9 {
            items.push(item(i, &format!("B{i}"), "153-0051", "窓口", ""));
        }
        mail_order(&mut items, &["郵送".into()]);
        let v = volumes(&items, 3);
        let got: Vec<(&str, usize, usize, usize)> = v
            .iter()
            .map(|v| (v.group.as_str(), v.number, v.first(), v.last()))
            .collect();
        assert_eq!(
            got,
            [
                ("郵送", 1, 1, 3),
                ("郵送", 2, 4, 6),
                ("郵送", 3, 7, 7),
                ("窓口", 4, 8, 9)
            ]
        );
        assert_eq!(volumes(&items, 100).len(), 2);
        assert!(volumes(&[], 3).is_empty());
    }

    #[test]
    fn counts_and_thresholds() {
        let mut items = Vec::new();
        for i in 0..120 {
            items.push(item(i, &format!("R{i:04}"), "153-0051", "郵送", ""));
        }
        for i in 120..150 {
            items.push(item(i, &format!("R{i:04}"), "154-0011", "郵送", ""));
        }
        items.push(item(150, "R0150", "153-0000", "郵送", ""));
        items.push(item(151, "R0151", "", "郵送", ""));
        let mut no_code = item(152, "R0152", "263-0023", "郵送", "");
        no_code.barcode = false;
        items.push(no_code);
        items.push(item(153, "R0153", "263-0023", "窓口", ""));
        mail_order(&mut items, &["郵送".into()]);
        let t = Thresholds {
            barcode: 150,
            ..Thresholds::default()
        };
        let s = summarize(&items, &["郵送".into()], &t);
        assert_eq!(s.len(), 2);
        let post = &s[0];
        assert_eq!(post.group, "郵送");
        assert_eq!(post.items, 153);
        assert_eq!(post.without_postal, 1);
        assert_eq!(post.representative, 1);
        assert_eq!(post.with_barcode, 150);
        assert_eq!(post.by_prefix.get("153"), Some(&121));
        assert_eq!(post.by_prefix.get("154"), Some(&30));
        assert_eq!(post.by_prefix.get("263"), Some(&1));
        assert_eq!(post.by_district.get("15300"), Some(&121));
        assert_eq!(post.by_district.get("15400"), Some(&30));
        let d: BTreeMap<&str, &Discount> = post.discounts.iter().map(|d| (d.code, d)).collect();
        assert!(d["barcode"].eligible);
        assert_eq!(d["barcode"].count, 150);
        assert!(d["district"].eligible);
        assert_eq!(d["district"].districts, vec!["15300".to_string()]);
        assert!(!d["presorted"].eligible);
        assert_eq!(d["presorted"].count, 152);
        assert!(d["deferred_payment"].eligible);
        // The counter group is not posted: no discounts judged.
        assert_eq!(s[1].group, "窓口");
        assert!(s[1].discounts.is_empty());
        // One under the barcode threshold is not eligible.
        let t = Thresholds {
            barcode: 151,
            ..Thresholds::default()
        };
        let s = summarize(&items, &["郵送".into()], &t);
        assert!(!s[0].discounts[0].eligible);
    }
}
