//! Address lines (`<para break="address">`): lines break where a person
//! would break a postal address, at the boundaries
//! `japan::postal::PostalData::address_breaks` finds.
//!
//! Why a choice over the whole address rather than the greedy line filling
//! of text: a person keeps the town with its block number when the line
//! count allows it (東京都大田区 / 蒲田1丁目23-10 rather than
//! 東京都大田区蒲田 / 1丁目23-10), and splits a long name into even lines at
//! a word boundary (札幌グランドパークレジデンス / 北一条西タワー棟1502). So
//! every way of breaking at the allowed places is scored — a cost per line,
//! a penalty per break by how weak it is, and the squared slack of every
//! line — and the cheapest is taken. When the address does not fit on one
//! line, its building always starts a line. The text rules (UAX #14 and
//! kinsoku) are the fallback, heavily penalised, for a part longer than a
//! line; a line break is never taken where they forbid one. The result
//! depends only on the text and the widths, so the same address at the
//! same width and size gives the same lines on every form.
//!
//! May use `crate::render` (layout's lines and items) and `crate::japan`
//! (the address's boundaries).

use super::lines::{make_line, Line, Lines};
use super::shaping::Item;
use super::{Ctx, LayoutError};
use crate::japan::postal::{Boundary, PostalData};
use crate::render::form::Run;

/// What one more line costs, against the break penalties below.
const LINE_COST: f32 = 10.0;

/// The penalty of starting a line at an item, by the kind of break there.
fn penalty(kind: Option<Boundary>, it: &Item, after_space: bool) -> Option<f32> {
    let text_break = it.break_before || after_space;
    match kind {
        _ if it.is_any_space() || it.hard_break => None,
        Some(k) if text_break => Some(match k {
            Boundary::Building => 0.0,
            Boundary::Major => 1.0,
            Boundary::Minor => 3.0,
            Boundary::Word => 30.0,
        }),
        _ if text_break => Some(100.0),
        _ if it.relaxed_break => Some(1000.0),
        _ => None,
    }
}

impl Ctx<'_> {
    /// The address boundary, if any, before each character of `runs`
    /// (by the byte offset of [`Item::at`]).
    pub(super) fn address_kinds(
        &self,
        runs: &[Run],
        postal: Option<&str>,
    ) -> Result<Vec<(usize, Boundary)>, LayoutError> {
        let text: String = runs.iter().map(|r| self.run_text(r)).collect();
        let data = PostalData::embedded().map_err(|e| LayoutError::PostalData {
            message: e.message.clone(),
        })?;
        Ok(data
            .address_breaks(&text, postal)
            .into_iter()
            .map(|b| (b.at, b.kind))
            .collect())
    }
}

/// Breaks an address's items into lines no wider than `width`; `None`
/// when no way of breaking at the allowed places fits (the caller then
/// falls back to the text rules and the box's fit rule).
pub(super) fn break_address(
    items: &[Item],
    width: f32,
    kinds: &[(usize, Boundary)],
) -> Option<Lines> {
    let mut lines = Vec::new();
    for para in items.split(|it| it.hard_break) {
        if para.is_empty() {
            let mut l = make_line(Vec::new());
            l.para_end = true;
            lines.push(l);
            continue;
        }
        let kind_at = |it: &Item| {
            kinds
                .binary_search_by_key(&it.at, |k| k.0)
                .ok()
                .map(|i| kinds[i].1)
        };
        let pens: Vec<Option<f32>> = (0..para.len())
            .map(|i| {
                let after_space = i > 0 && para[i - 1].is_any_space();
                (i > 0)
                    .then(|| penalty(kind_at(&para[i]), &para[i], after_space))
                    .flatten()
            })
            .collect();
        let widths = Widths::new(para);
        let mut parts = vec![(0, para.len())];
        if widths.of(0, para.len()) > width + 0.01 {
            // The building goes to its own line.
            if let Some(b) = (1..para.len())
                .find(|&i| pens[i].is_some() && kind_at(&para[i]) == Some(Boundary::Building))
            {
                parts = vec![(0, b), (b, para.len())];
            }
        }
        for (lo, hi) in parts {
            for (s, e) in best_breaks(&widths, &pens, lo, hi, width)? {
                lines.push(widths.line(para, s, e));
            }
        }
        if let Some(last) = lines.last_mut() {
            last.para_end = true;
        }
    }
    Some(Lines { lines })
}

/// The cheapest way to break `[lo, hi)` into lines at the allowed places:
/// the lines as (start, end) item ranges.
fn best_breaks(
    widths: &Widths,
    pens: &[Option<f32>],
    lo: usize,
    hi: usize,
    width: f32,
) -> Option<Vec<(usize, usize)>> {
    let mut stops: Vec<usize> = vec![lo];
    stops.extend((lo + 1..hi).filter(|&i| pens[i].is_some()));
    stops.push(hi);
    // cost[k]: the cheapest way to reach stops[k]; from[k]: where its last
    // line started.
    let mut cost = vec![f32::INFINITY; stops.len()];
    let mut from = vec![0usize; stops.len()];
    cost[0] = 0.0;
    for k in 1..stops.len() {
        let e = stops[k];
        let pen = if e < hi { pens[e].unwrap_or(0.0) } else { 0.0 };
        // Lines grow as their start moves back: stop at the first that is
        // too wide, so a long text costs its stops times a line's stops.
        for j in (0..k).rev() {
            let w = widths.of(stops[j], e);
            if w > width + 0.01 {
                break;
            }
            if !cost[j].is_finite() {
                continue;
            }
            let slack = (width - w) / width.max(1.0);
            let c = cost[j] + LINE_COST + pen + slack * slack;
            if c < cost[k] {
                cost[k] = c;
                from[k] = j;
            }
        }
    }
    let last = stops.len() - 1;
    if !cost[last].is_finite() {
        return None;
    }
    let mut out = Vec::new();
    let mut k = last;
    while k > 0 {
        let j = from[k];
        out.push((stops[j], stops[k]));
        k = j;
    }
    out.reverse();
    Some(out)
}

/// Line widths of a paragraph's items from running sums; spaces at a line's
/// ends do not count (they are dropped there).
struct Widths {
    /// Sum of the advances (with letter spacing) of the items before i.
    sums: Vec<f32>,
    spacing: Vec<f32>,
    space: Vec<bool>,
}

impl Widths {
    fn new(items: &[Item]) -> Widths {
        let mut sums = Vec::with_capacity(items.len() + 1);
        let mut x = 0.0;
        sums.push(x);
        for it in items {
            x += it.pre + it.advance + it.post + it.spacing;
            sums.push(x);
        }
        Widths {
            sums,
            spacing: items.iter().map(|i| i.spacing).collect(),
            space: items.iter().map(Item::is_any_space).collect(),
        }
    }

    /// The items of `[s, e)` without the spaces at either end.
    fn trim(&self, mut s: usize, mut e: usize) -> (usize, usize) {
        while s < e && self.space[s] {
            s += 1;
        }
        while e > s && self.space[e - 1] {
            e -= 1;
        }
        (s, e)
    }

    fn of(&self, s: usize, e: usize) -> f32 {
        let (s, e) = self.trim(s, e);
        if s == e {
            return 0.0;
        }
        self.sums[e] - self.sums[s] - self.spacing[e - 1]
    }

    fn line(&self, items: &[Item], s: usize, e: usize) -> Line {
        let (s, e) = self.trim(s, e);
        make_line(items[s..e].to_vec())
    }
}
