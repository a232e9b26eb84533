//! The counts of a batch, defined once: what stderr's last lines,
//! `summary.json`, `report.html` and the ledger listing say about rows and
//! documents all come from [`Counts`] and [`ThisRun`], with the labels of
//! [`Counts::rows`] and [`Counts::documents_lines`].
//!
//! Two sums always hold (tests/report.rs asserts them on every sample):
//!
//! * rows read = rows accepted + rows rejected — a main-sheet row is either
//!   accepted by the check (it got a number, or was left out as already
//!   issued) or rejected by it; rows of joined sheets are counted apart
//!   (`joined_rows_rejected`), never as rows read;
//! * rows accepted = documents + skipped + voided (+ documents of other
//!   shards, in a shard's run directory), and documents = issued now +
//!   reused from an earlier execution of the same batch.
//!
//! The split of documents into issued now and reused ([`ThisRun`]) depends
//! on how the batch ran (a resumed batch reuses what the killed one wrote),
//! so it is kept with the timings, apart from the counts that any two runs
//! of the same input share byte for byte.
//!
//! Plain data with no dependencies but `serde`; computed by `finalize`.

use serde::{Deserialize, Serialize};

/// The counts of a batch (or of one shard's run directory): the same for
/// every execution of the same input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Data rows of the main sheet read (blank rows aside).
    pub rows_read: usize,
    /// Main-sheet rows the check accepted: each got a document number, or
    /// was left out as issued by an earlier batch.
    pub rows_accepted: usize,
    /// Main-sheet rows the check rejected (no number given).
    pub rows_rejected: usize,
    /// Rows of joined sheets with a problem (`E_JOIN_NO_MATCH`, a bad
    /// value): not rows read; their main row, if any, is rejected too
    /// (`E_JOIN_ROWS`).
    pub joined_rows_rejected: usize,
    /// Documents in `docs/` (issued now or reused, see [`ThisRun`]).
    pub documents: usize,
    /// Requests left out because an earlier batch issued them with the
    /// same content (既発行; `--reissue` issues them).
    pub documents_skipped: usize,
    /// Numbers given whose document was refused by layout or a template
    /// filter (欠番).
    pub documents_voided: usize,
    /// Accepted rows that belong to other shards (0 but in a shard's run
    /// directory).
    pub documents_in_other_shards: usize,
    /// Pages of all documents.
    pub pages: usize,
    /// Reject lines (a row may have several problems).
    pub rejects: usize,
    /// Warnings (e.g. a variation sequence printed as its base character).
    pub warnings: usize,
}

/// How the documents of [`Counts::documents`] came about in this execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThisRun {
    /// Documents rendered and written by this execution.
    pub documents_issued: usize,
    /// Documents an earlier, interrupted execution of the same batch had
    /// finished, kept as they were.
    pub documents_reused: usize,
}

/// One count with its labels, as every output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The key in `summary.json` (and the element id in `report.html`).
    pub key: &'static str,
    /// The Japanese label.
    pub ja: &'static str,
    /// The English gloss.
    pub en: &'static str,
    /// The figure.
    pub value: usize,
}

impl Counts {
    /// The row counts, in the order every output gives them.
    pub fn rows(&self) -> Vec<Line> {
        let l = |key, ja, en, value| Line { key, ja, en, value };
        vec![
            l("rows_read", "読み込んだ行", "rows read", self.rows_read),
            l(
                "rows_accepted",
                "受け付けた行",
                "rows accepted",
                self.rows_accepted,
            ),
            l(
                "rows_rejected",
                "不備で除いた行",
                "rows rejected",
                self.rows_rejected,
            ),
            l(
                "joined_rows_rejected",
                "不備のある結合シートの行",
                "joined-sheet rows rejected",
                self.joined_rows_rejected,
            ),
        ]
    }

    /// The document counts, in the order every output gives them; the
    /// count of other shards' documents only when there are some.
    pub fn documents_lines(&self) -> Vec<Line> {
        let l = |key, ja, en, value| Line { key, ja, en, value };
        let mut v = vec![
            l("documents", "出力した文書", "documents", self.documents),
            l(
                "documents_skipped",
                "既発行のため発行せず",
                "skipped (issued before)",
                self.documents_skipped,
            ),
            l(
                "documents_voided",
                "欠番",
                "voided (numbered, no document)",
                self.documents_voided,
            ),
        ];
        if self.documents_in_other_shards > 0 {
            v.push(l(
                "documents_in_other_shards",
                "他の分割の文書",
                "documents of other shards",
                self.documents_in_other_shards,
            ));
        }
        v
    }

    /// The other figures (pages, reject lines, warnings).
    pub fn other_lines(&self) -> Vec<Line> {
        let l = |key, ja, en, value| Line { key, ja, en, value };
        vec![
            l("pages", "ページ", "pages", self.pages),
            l("rejects", "不備の件数", "reject lines", self.rejects),
            l("warnings", "警告", "warnings", self.warnings),
        ]
    }

    /// Why the counts do not add up, if they do not (a bug in counting,
    /// never in the data: finalize logs it as an error and finishes the
    /// batch all the same).
    pub fn mismatch(&self, this_run: &ThisRun) -> Option<String> {
        let accounted = self.documents
            + self.documents_skipped
            + self.documents_voided
            + self.documents_in_other_shards;
        if self.rows_read != self.rows_accepted + self.rows_rejected {
            return Some(format!(
                "rows read {} ≠ accepted {} + rejected {}",
                self.rows_read, self.rows_accepted, self.rows_rejected
            ));
        }
        if self.rows_accepted != accounted {
            return Some(format!(
                "rows accepted {} ≠ documents + skipped + voided + other shards {accounted}",
                self.rows_accepted
            ));
        }
        let made = this_run.documents_issued + this_run.documents_reused;
        if self.documents != made {
            return Some(format!(
                "documents {} ≠ issued {} + reused {}",
                self.documents, this_run.documents_issued, this_run.documents_reused
            ));
        }
        None
    }
}

impl ThisRun {
    /// The split of the documents, with labels.
    pub fn lines(&self) -> Vec<Line> {
        let l = |key, ja, en, value| Line { key, ja, en, value };
        vec![
            l(
                "documents_issued",
                "今回出力した文書",
                "issued by this run",
                self.documents_issued,
            ),
            l(
                "documents_reused",
                "前回の実行で出力済みの文書",
                "reused (earlier run)",
                self.documents_reused,
            ),
        ]
    }
}

/// The numbers of a ledger listing by state, with the labels of the
/// batch counts: a number's document was written (出力した文書), it is a
/// void (欠番), or it was planned and never written (未出力: a batch that
/// was stopped and not resumed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Numbers whose document was written.
    pub documents: usize,
    /// Numbers recorded as void.
    pub voided: usize,
    /// Numbers planned whose document was never written.
    pub unfinished: usize,
}

impl LedgerCounts {
    /// The counts, with labels.
    pub fn lines(&self) -> Vec<Line> {
        let l = |key, ja, en, value| Line { key, ja, en, value };
        vec![
            l("documents", "出力した文書", "documents", self.documents),
            l(
                "documents_voided",
                "欠番",
                "voided (numbered, no document)",
                self.voided,
            ),
            l(
                "unfinished",
                "未出力",
                "planned, not written",
                self.unfinished,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_that_do_not_add_up_are_named() {
        let mut c = Counts {
            rows_read: 10,
            rows_accepted: 7,
            rows_rejected: 3,
            documents: 5,
            documents_skipped: 1,
            documents_voided: 1,
            ..Counts::default()
        };
        let run = ThisRun {
            documents_issued: 4,
            documents_reused: 1,
        };
        assert_eq!(c.mismatch(&run), None);
        c.rows_rejected = 4;
        assert!(c.mismatch(&run).unwrap().starts_with("rows read"));
        c.rows_rejected = 3;
        c.documents_voided = 0;
        assert!(c.mismatch(&run).unwrap().starts_with("rows accepted"));
        c.documents_voided = 1;
        assert!(c
            .mismatch(&ThisRun::default())
            .unwrap()
            .starts_with("documents"));
    }
}
